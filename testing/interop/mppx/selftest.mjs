#!/usr/bin/env node
// Proves the mppx fixtures node-to-node on a real local Tempo chain, so Rust interop tests can
// later swap exactly one side:
//
//   chain A (anvil --network tempo, default chain id 31337)
//     1. pull       server.mjs MODE=pull   <- client.mjs MODE=pull   (0x76 tx, server broadcasts)
//                   + the same credential replayed must be refused
//     2. push       server.mjs MODE=push   <- client.mjs MODE=push   (client broadcasts, sends hash)
//     3. fee payer  server.mjs FEE_PAYER_KEY <- client.mjs            (0x78 envelope, server co-signs;
//                   the payer holds exactly the price and pays no fee)
//   chain B (anvil --network tempo --chain-id 1337, the only local id the mppx CLI accepts)
//     4. cli        server.mjs MODE=both   <- cli.sh (the `mppx` command-line client)
//
// Every payment comes from a fresh key funded by a PathUSD transfer from dev account 0 (anvil
// keeps one expiring-nonce transaction per sender) and goes to a fresh recipient, whose PathUSD
// balance (eth_call balanceOf) must rise by exactly the price. The on-chain memo must be the
// challenge-bound attribution memo.
//
// Usage: node selftest.mjs
// Environment: MPP_ANVIL (anvil binary; default <workspace>/.tools/node_modules/@foundry-rs/
//   anvil-linux-amd64/bin/anvil), MPP_NODE_MODULES (see lib.mjs), AMOUNT (default "0.01").
// Stdout: one JSON line {"ok":true|false,"mppx":"<version>","results":[...]}; progress on stderr.
// Exit status 0 when every scenario passed. Only processes this script started are stopped, by
// their PID, on every exit path.

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { installedVersion, load, log, setLogPrefix } from './lib.mjs'

setLogPrefix('mppx-selftest')

const here = dirname(fileURLToPath(import.meta.url))
const anvilPath =
  process.env.MPP_ANVIL ??
  resolve(here, '../../../.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil')
const PATH_USD = '0x20c0000000000000000000000000000000000000'
const DEV_ACCOUNT_0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const AMOUNT = process.env.AMOUNT ?? '0.01'
const AMOUNT_UNITS = BigInt(Math.round(Number(AMOUNT) * 1e6)) // TIP-20: 6 decimals
const FEE_BUDGET = 1_000_000n // 1.00 PathUSD for payers that pay their own fees
const CALL_TIMEOUT_MS = 10_000

const { privateKeyToAccount } = await load('viem/accounts')
const { keccak256, toHex } = await load('viem')

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and stopped by PID when the script ends.

const children = new Set()
let stopping = false

function track(child, name) {
  child.fixtureName = name
  // After a signal, anything the still-running main flow starts is stopped at once.
  if (stopping) child.kill('SIGTERM')
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((done) => child.once('exit', done))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}

async function stopAll() {
  await Promise.all([...children].map(stop))
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    stopping = true
    log(`${signal}: stopping children`)
    await stopAll()
    process.exit(130)
  })
}

/** Keeps the last lines a child printed, for error messages. */
function tail(stream, keep = 40) {
  const lines = []
  let partial = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop()
    lines.push(...parts)
    if (lines.length > keep) lines.splice(0, lines.length - keep)
  })
  return () => [...lines, partial].filter(Boolean).join('\n')
}

/** Resolves with the first stdout line matching `pattern`, or rejects on exit / timeout. */
function waitForLine(child, pattern, timeoutMs, describe) {
  return new Promise((done, fail) => {
    let buffer = ''
    const timer = setTimeout(() => fail(new Error(`${describe}: no "${pattern}" within ${timeoutMs} ms`)), timeoutMs)
    const onData = (chunk) => {
      buffer += chunk
      const match = pattern.exec(buffer)
      if (match) {
        clearTimeout(timer)
        // Stop collecting; the stream stays flowing, so later output is drained and dropped.
        child.stdout.off('data', onData)
        child.stdout.resume()
        done(match)
      }
    }
    child.stdout.on('data', onData)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      fail(new Error(`${describe}: exited (${code ?? signal}) before "${pattern}"`))
    })
  })
}

/** Runs a command to completion; resolves with {code, stdout, stderr}. */
function run(command, args, env, timeoutMs, name) {
  return new Promise((done, fail) => {
    const child = track(spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }), name)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => {
      stop(child)
      fail(new Error(`${name} timed out after ${timeoutMs} ms\n${stderr}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    })
  })
}

// ---------------------------------------------------------------------------------------------
// The chain.

async function rpc(url, method, params = []) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  })
  const answer = await response.json()
  if (answer.error) throw new Error(`${method}: ${JSON.stringify(answer.error)}`)
  return answer.result
}

function freePort() {
  return new Promise((done, fail) => {
    import('node:net').then(({ createServer }) => {
      const server = createServer()
      server.once('error', fail)
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address()
        server.close(() => done(port))
      })
    })
  })
}

async function startAnvil(chainId) {
  if (!existsSync(anvilPath)) throw new Error(`anvil not found at ${anvilPath}; run scripts/setup`)
  const port = await freePort()
  const args = ['--network', 'tempo', '--host', '127.0.0.1', '--port', String(port)]
  if (chainId) args.push('--chain-id', String(chainId))
  const child = track(spawn(anvilPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }), `anvil:${port}`)
  const recent = tail(child.stderr)
  child.stdout.setEncoding('utf8')
  try {
    await waitForLine(child, /Listening on/, 30_000, 'anvil')
  } catch (error) {
    throw new Error(`${error.message}\n${recent()}`)
  }
  const url = `http://127.0.0.1:${port}`
  const id = Number(await rpc(url, 'eth_chainId'))
  // Before the first block, calls run at timestamp 1 and time-bounded Tempo txs are "not valid yet".
  await rpc(url, 'evm_mine')
  log(`anvil pid ${child.pid} on ${url}, chain ${id}`)
  return { url, chainId: id, child }
}

function word(value) {
  return value.toString(16).padStart(64, '0')
}

async function balanceOf(rpcUrl, owner, token = PATH_USD) {
  const data = `0x70a08231${word(BigInt(owner))}`
  return BigInt(await rpc(rpcUrl, 'eth_call', [{ to: token, data }, 'latest']))
}

async function waitForReceipt(rpcUrl, hash, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const receipt = await rpc(rpcUrl, 'eth_getTransactionReceipt', [hash])
    if (receipt) return receipt
    await new Promise((done) => setTimeout(done, 100))
  }
  throw new Error(`no receipt for ${hash} within ${timeoutMs} ms`)
}

/** Transfers `amount` PathUSD from dev account 0 (unlocked) to `to`, ordinary nonce lane. */
async function fund(rpcUrl, to, amount) {
  const data = `0xa9059cbb${word(BigInt(to))}${word(amount)}`
  const hash = await rpc(rpcUrl, 'eth_sendTransaction', [{ from: DEV_ACCOUNT_0, to: PATH_USD, data }])
  const receipt = await waitForReceipt(rpcUrl, hash)
  if (receipt.status !== '0x1') throw new Error(`funding ${to} failed: ${hash}`)
  return hash
}

function freshKey() {
  const key = `0x${randomBytes(32).toString('hex')}`
  return { key, address: privateKeyToAccount(key).address }
}

/** The challenge-bound attribution memo mppx clients put in transferWithMemo. */
function expectedMemo(realm, challengeId) {
  const fingerprint = (text, bytes) => keccak256(toHex(text)).slice(2, 2 + bytes * 2)
  return `0x${fingerprint('mpp', 4)}01${fingerprint(realm, 10)}${'00'.repeat(10)}${fingerprint(challengeId, 7)}`
}

const TRANSFER_WITH_MEMO_TOPIC = '0x57bc7354aa85aed339e000bccffabbc529466af35f0772c8f8ee1145927de7f0'

// ---------------------------------------------------------------------------------------------
// The fixtures.

async function startServer(chain, env) {
  const child = track(
    spawn(process.execPath, [join(here, 'server.mjs')], {
      env: { ...process.env, RPC_URL: chain.url, CHAIN_ID: String(chain.chainId), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    'server',
  )
  const recent = tail(child.stderr)
  child.stdout.setEncoding('utf8')
  let match
  try {
    match = await waitForLine(child, /^LISTENING (http:\/\/127\.0\.0\.1:[0-9]+)$/m, 30_000, 'server.mjs')
  } catch (error) {
    throw new Error(`${error.message}\n${recent()}`)
  }
  return { url: match[1], child, recent }
}

async function payWithClient(chain, url, privateKey, mode) {
  const env = { RPC_URL: chain.url, CHAIN_ID: String(chain.chainId), PRIVATE_KEY: privateKey }
  if (mode) env.MODE = mode
  const { code, stdout, stderr } = await run(process.execPath, [join(here, 'client.mjs'), url], env, 90_000, 'client.mjs')
  const line = stdout.trim().split('\n').pop()
  let result
  try {
    result = JSON.parse(line)
  } catch {
    throw new Error(`client.mjs printed no JSON (exit ${code})\n${stderr}`)
  }
  return { code, result, stderr }
}

async function payWithCli(chain, url, privateKey) {
  const env = { RPC_URL: chain.url, PRIVATE_KEY: privateKey }
  const { code, stdout, stderr } = await run('bash', [join(here, 'cli.sh'), url], env, 90_000, 'cli.sh')
  const line = stdout.trim().split('\n').pop()
  let result
  try {
    result = JSON.parse(line)
  } catch {
    throw new Error(`cli.sh printed no JSON (exit ${code})\n${stderr}`)
  }
  return { code, result, stderr }
}

async function waitFor(probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value || Date.now() > deadline) return value
    await new Promise((done) => setTimeout(done, 50))
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message)
}

/** Checks the paid transaction on chain: success, and a TransferWithMemo with the bound memo. */
async function checkTransaction(chain, hash, { realm, challengeId, recipient, from }) {
  const receipt = await rpc(chain.url, 'eth_getTransactionReceipt', [hash])
  check(receipt && receipt.status === '0x1', `transaction ${hash} not successful on chain`)
  const memoLog = receipt.logs.find(
    (entry) =>
      entry.address.toLowerCase() === PATH_USD &&
      entry.topics[0] === TRANSFER_WITH_MEMO_TOPIC &&
      BigInt(entry.topics[2]) === BigInt(recipient),
  )
  check(memoLog, `no TransferWithMemo to ${recipient} in ${hash}`)
  check(BigInt(memoLog.topics[1]) === BigInt(from), `TransferWithMemo not from the payer ${from}`)
  check(BigInt(memoLog.data) === AMOUNT_UNITS, `TransferWithMemo amount ${BigInt(memoLog.data)}`)
  const memo = memoLog.topics[3]
  const want = expectedMemo(realm, challengeId)
  check(memo === want, `memo ${memo}, expected ${want}`)
  return { memo, block: Number(receipt.blockNumber), gasUsed: Number(receipt.gasUsed) }
}

function challengeRealm(header) {
  return /realm="([^"]*)"/.exec(header ?? '')?.[1]
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

const secretKey = randomBytes(32).toString('base64')
const REALM = 'interop.mppx.test'

async function scenario(name, body) {
  const started = Date.now()
  log(`--- ${name}`)
  try {
    const details = await body()
    log(`ok ${name} (${Date.now() - started} ms)`)
    return { name, ok: true, ...details }
  } catch (error) {
    log(`FAILED ${name}: ${error?.stack ?? error}`)
    return { name, ok: false, error: String(error?.message ?? error) }
  }
}

/** Pays once with a fresh payer to a fresh recipient and checks every observable. */
async function payAndCheck(chain, serverEnv, pay, expect) {
  const recipient = freshKey().address
  const payer = freshKey()
  const feePayer = expect.feePayer ? freshKey() : undefined
  if (feePayer) await fund(chain.url, feePayer.address, 5n * FEE_BUDGET)
  // A sponsored payer gets exactly the price: it must not pay any fee.
  await fund(chain.url, payer.address, expect.feePayer ? AMOUNT_UNITS : AMOUNT_UNITS + FEE_BUDGET)
  const server = await startServer(chain, {
    SECRET_KEY: secretKey,
    REALM,
    RECIPIENT: recipient,
    CURRENCY: PATH_USD,
    AMOUNT,
    ...serverEnv,
    ...(feePayer ? { FEE_PAYER_KEY: feePayer.key } : {}),
  })
  try {
    const before = await balanceOf(chain.url, recipient)
    const payerBefore = await balanceOf(chain.url, payer.address)
    const feePayerBefore = feePayer ? await balanceOf(chain.url, feePayer.address) : undefined
    const { code, result, stderr } = await pay(`${server.url}/paid`, payer.key)
    check(code === 0 && result.status === 200, `payment failed: exit ${code}, ${JSON.stringify(result)}\n${stderr}\n${server.recent()}`)
    check(result.receipt?.status === 'success' && result.receipt?.method === 'tempo', `bad receipt ${JSON.stringify(result.receipt)}`)
    const txHash = result.receipt.reference
    check(/^0x[0-9a-f]{64}$/.test(txHash), `receipt reference ${txHash} is not a tx hash`)
    const after = await balanceOf(chain.url, recipient)
    check(after - before === AMOUNT_UNITS, `recipient balance moved by ${after - before}, expected ${AMOUNT_UNITS}`)
    const payerAfter = await balanceOf(chain.url, payer.address)
    const payerSpent = payerBefore - payerAfter
    const challengeId = result.credential?.challenge?.id ?? /id="([^"]*)"/.exec(result.challenge ?? '')?.[1]
    check(challengeId, 'no challenge id seen')
    check(challengeRealm(result.challenge) === REALM, `challenge realm ${challengeRealm(result.challenge)}`)
    const onChain = await checkTransaction(chain, txHash, { realm: REALM, challengeId, recipient, from: payer.address })
    const details = {
      chainId: chain.chainId,
      txHash,
      recipient,
      payer: payer.address,
      recipientBefore: before.toString(),
      recipientAfter: after.toString(),
      payerSpent: payerSpent.toString(),
      memo: onChain.memo,
      gasUsed: onChain.gasUsed,
    }
    // What the server saw (its log line names the credential's payload type and envelope).
    const seen = await waitFor(() => /credential type=(\w+)(?: (0x[0-9a-f]{2}))? source=(\S+) -> 200/.exec(server.recent()), 5_000)
    check(seen, `server logged no paid credential:\n${server.recent()}`)
    details.serverSaw = { payloadType: seen[1], envelopePrefix: seen[2], source: seen[3] }
    check(seen[1] === expect.payloadType, `server saw payload type ${seen[1]}, expected ${expect.payloadType}`)
    if (expect.envelopePrefix) check(seen[2] === expect.envelopePrefix, `server saw envelope ${seen[2]}`)
    check(seen[3] === `did:pkh:eip155:${chain.chainId}:${payer.address}`, `server saw source ${seen[3]}`)
    if (result.credential) {
      details.payloadType = result.credential.payload?.type
      details.source = result.credential.source
      if (result.credential.payload?.signature) details.envelopePrefix = result.credential.payload.signature.slice(0, 4)
      check(details.payloadType === expect.payloadType, `payload type ${details.payloadType}, expected ${expect.payloadType}`)
      if (expect.envelopePrefix)
        check(details.envelopePrefix === expect.envelopePrefix, `envelope ${details.envelopePrefix}, expected ${expect.envelopePrefix}`)
      check(
        details.source === `did:pkh:eip155:${chain.chainId}:${payer.address}`,
        `source ${details.source}`,
      )
    }
    if (feePayer) {
      const feePayerAfter = await balanceOf(chain.url, feePayer.address)
      details.feePayer = feePayer.address
      details.sponsoredFee = (feePayerBefore - feePayerAfter).toString()
      check(payerSpent === AMOUNT_UNITS, `sponsored payer spent ${payerSpent}, expected exactly ${AMOUNT_UNITS}`)
      check(feePayerBefore - feePayerAfter > 0n, 'the fee payer paid no fee')
    } else {
      check(payerSpent > AMOUNT_UNITS, `payer spent ${payerSpent}: no fee paid on top of the price?`)
    }
    if (expect.replay && result.credential) {
      // The very same credential again: mppx must refuse it and move no money.
      const token = Buffer.from(JSON.stringify(result.credential)).toString('base64url')
      const response = await fetch(`${server.url}/paid`, {
        headers: { authorization: `Payment ${token}` },
        signal: AbortSignal.timeout(30_000),
      })
      const problem = await response.json().catch(() => null)
      const afterReplay = await balanceOf(chain.url, recipient)
      check(response.status === 402, `replay answered ${response.status}`)
      check(afterReplay === after, 'replay moved money')
      details.replay = { status: response.status, type: problem?.type, detail: problem?.detail }
    }
    return details
  } finally {
    await stop(server.child)
  }
}

const results = []
let chainA
let chainB
try {
  log(`mppx ${installedVersion('mppx')}, viem ${installedVersion('viem')}, anvil ${anvilPath}`)
  chainA = await startAnvil()
  const client = (mode) => (url, key) => payWithClient(chainA, url, key, mode)
  results.push(
    await scenario('pull', () =>
      payAndCheck(chainA, { MODE: 'pull' }, client('pull'), { payloadType: 'transaction', envelopePrefix: '0x76', replay: true }),
    ),
  )
  results.push(
    await scenario('push', () =>
      payAndCheck(chainA, { MODE: 'push' }, client('push'), { payloadType: 'hash', replay: true }),
    ),
  )
  results.push(
    await scenario('fee-payer', () =>
      payAndCheck(chainA, { MODE: 'both' }, client(undefined), {
        payloadType: 'transaction',
        envelopePrefix: '0x78',
        feePayer: true,
        replay: true,
      }),
    ),
  )
  await stop(chainA.child)

  chainB = await startAnvil(1337)
  results.push(
    await scenario('cli', () =>
      payAndCheck(chainB, { MODE: 'both' }, (url, key) => payWithCli(chainB, url, key), {
        payloadType: 'transaction',
        envelopePrefix: '0x76',
      }),
    ),
  )
} catch (error) {
  log(`error: ${error?.stack ?? error}`)
  results.push({ name: 'setup', ok: false, error: String(error?.message ?? error) })
} finally {
  await stopAll()
}

const ok = results.length === 4 && results.every((result) => result.ok)
process.stdout.write(`${JSON.stringify({ ok, mppx: installedVersion('mppx'), viem: installedVersion('viem'), results })}\n`)
log(ok ? 'all scenarios passed' : 'FAILED')
process.exit(ok ? 0 : 1)
