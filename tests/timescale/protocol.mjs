// PostgreSQL wire protocol (version 3) framing, just enough for server.mjs.

export const SSL_REQUEST = 80877103
export const GSSENC_REQUEST = 80877104
export const PROTOCOL_3 = 196608

function int32(value) {
  const bytes = Buffer.alloc(4)
  bytes.writeInt32BE(value)
  return bytes
}

function cstring(text) {
  return Buffer.from(`${text}\0`, 'utf8')
}

function message(type, body) {
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(body.length + 4), body])
}

export function simpleQuery(sql) {
  return message('Q', cstring(sql))
}

export function copyDone() {
  return message('c', Buffer.alloc(0))
}

export function copyFail(reason) {
  return message('f', cstring(reason))
}

export function sync() {
  return message('S', Buffer.alloc(0))
}

export function startupPacket(parameters) {
  const fields = Object.entries(parameters).flatMap(([k, v]) => [cstring(k), cstring(v)])
  const body = Buffer.concat([int32(PROTOCOL_3), ...fields, Buffer.from([0])])
  return Buffer.concat([int32(body.length + 4), body])
}

export function passwordMessage(password) {
  return message('p', cstring(password))
}

export function errorResponse(severity, sqlstate, text) {
  const fields = [`S${severity}`, `V${severity}`, `C${sqlstate}`, `M${text}`].map(cstring)
  return message('E', Buffer.concat([...fields, Buffer.from([0])]))
}

// The startup-phase packet at the head of `buffer` (no type byte), or null if incomplete.
export function untypedPacket(buffer) {
  if (buffer.length < 8) return null
  const length = buffer.readInt32BE(0)
  if (buffer.length < length) return null
  return { code: buffer.readInt32BE(4), raw: buffer.subarray(0, length) }
}

// The typed message at the head of `buffer`, or null if incomplete.
export function typedMessage(buffer) {
  if (buffer.length < 5) return null
  const length = buffer.readInt32BE(1)
  if (buffer.length < length + 1) return null
  return {
    type: String.fromCharCode(buffer[0]),
    body: buffer.subarray(5, length + 1),
    raw: buffer.subarray(0, length + 1),
  }
}

export function* typedMessages(buffer) {
  let rest = buffer
  for (let m = typedMessage(rest); m !== null; m = typedMessage(rest)) {
    yield m
    rest = rest.subarray(m.raw.length)
  }
}

function readCstring(body, offset) {
  const end = body.indexOf(0, offset)
  return { text: body.toString('utf8', offset, end), next: end + 1 }
}

// Parse message fields: statement name, query text, and the parameter type section.
export function parseMessageParts(body) {
  const name = readCstring(body, 0)
  const query = readCstring(body, name.next)
  return { name: name.text, query: query.text, tail: body.subarray(query.next) }
}

export function parseMessage(name, query, tail) {
  return message('P', Buffer.concat([cstring(name), cstring(query), tail]))
}

// Rewrites the prepared statement name an extended-protocol message refers to. Portals keep
// their names: SQL cursors (DECLARE) share their namespace, and clients fetch from them by name.
export function renameStatement(m, rename) {
  const body = m.body
  switch (m.type) {
    case 'P': {
      const { name, query, tail } = parseMessageParts(body)
      return parseMessage(rename(name), query, tail)
    }
    case 'B': {
      const portal = readCstring(body, 0)
      const statement = readCstring(body, portal.next)
      return message(
        'B',
        Buffer.concat([
          body.subarray(0, portal.next),
          cstring(rename(statement.text)),
          body.subarray(statement.next),
        ]),
      )
    }
    case 'D':
    case 'C': {
      if (body[0] !== 'S'.charCodeAt(0)) return m.raw
      const target = readCstring(body, 1)
      return message(m.type, Buffer.concat([body.subarray(0, 1), cstring(rename(target.text))]))
    }
    default:
      return m.raw
  }
}
