// Exclusive use of PGlite's single backend: one holder at a time, first come first served.
// A holder keeps it across its transaction; a waiter gives up after `timeoutMs`.

export class LockTimeout extends Error {}

export class BackendLock {
  constructor(timeoutMs) {
    this.timeoutMs = timeoutMs
    this.owner = null
    this.waiters = []
  }

  async acquire(holder) {
    if (this.owner === null || this.owner === holder) {
      this.owner = holder
      return
    }
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        reject(new LockTimeout())
      }, this.timeoutMs)
      const waiter = {
        holder,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      this.waiters.push(waiter)
    })
  }

  release(holder) {
    if (this.owner !== holder) return
    this.owner = null
    const next = this.waiters.shift()
    if (next) {
      this.owner = next.holder
      next.resolve()
    }
  }
}
