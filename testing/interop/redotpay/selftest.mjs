#!/usr/bin/env node
// Node-to-node self-test of the RedotPay fixtures against a real local Tempo chain:
// official @redotpay/mpp server (server.mjs) <-> official client (client.mjs).
//
//   node testing/interop/redotpay/selftest.mjs
//
// Starts its own Tempo-mode anvil (127.0.0.1, free port; `MPP_ANVIL` overrides the binary),
// funds a fresh key from dev account 0, runs both rails, checks balances on chain and that a
// reference cannot be used twice. Stops every process it started (by PID). Prints one JSON
// summary line on stdout; exits non-zero when a check fails.

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

import { PATH_USD, balanceOf, log, repoRoot, rpc, sdkImport, transferData } from './lib.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const DEV0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const children = new Set()
const checks = []

function check(name, ok, detail = undefined) {
  checks.push({ name, ok: Boolean(ok), ...(detail !== undefined ? { detail } : {}) })
  log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail !== undefined ? ` ${JSON.stringify(detail)}` : ''}`)
}

function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGTERM')
      } catch {}
    }
  }
  children.clear()
}
process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup()
    process.exit(130)
  })
}

/** Spawns a process and resolves with the first stdout/stderr line matching `pattern`. */
function startAndWait(cmd, args, { env = {}, pattern, stream = 'stdout', timeoutMs = 30_000, name }) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const stderrLines = []
  child.stderrLines = stderrLines
  readline.createInterface({ input: child.stderr }).on('line', (l) => {
    stderrLines.push(l)
    if (process.env.SELFTEST_VERBOSE) process.stderr.write(`  ${name}! ${l}\n`)
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms`)), timeoutMs)
    const rl = readline.createInterface({ input: stream === 'stdout' ? child.stdout : child.stderr })
    rl.on('line', (line) => {
      const m = line.match(pattern)
      if (m) {
        clearTimeout(timer)
        resolve({ child, match: m })
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited early with ${code}: ${stderrLines.slice(-5).join(' | ')}`))
    })
  })
}

/** Runs client.mjs with `env`; resolves with {code, result}. */
function runClient(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'client.mjs')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => {
      process.kill(child.pid, 'SIGTERM')
      reject(new Error('client timed out'))
    }, 90_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      children.delete(child)
      const lines = out.trim().split('\n')
      let result
      try {
        result = JSON.parse(lines[lines.length - 1])
      } catch {
        return reject(new Error(`client printed no JSON (exit ${code}): ${err.slice(-800)}`))
      }
      if (process.env.SELFTEST_VERBOSE) process.stderr.write(err)
      resolve({ code, result })
    })
  })
}

async function waitReceipt(url, hash) {
  for (let i = 0; i < 120; i++) {
    const r = await rpc(url, 'eth_getTransactionReceipt', [hash])
    if (r) return r
    await new Promise((res) => setTimeout(res, 250))
  }
  throw new Error(`no receipt for ${hash}`)
}

const summary = { ok: false }
try {
  // ---- chain ------------------------------------------------------------------------------------
  const anvil =
    process.env.MPP_ANVIL || path.join(repoRoot, '.tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil')
  if (!fs.existsSync(anvil)) throw new Error('anvil not found; run scripts/setup')
  const { match } = await startAndWait(anvil, ['--network', 'tempo', '--host', '127.0.0.1', '--port', '0'], {
    pattern: /Listening on 127\.0\.0\.1:(\d+)/,
    name: 'anvil',
  })
  const RPC_URL = `http://127.0.0.1:${match[1]}`
  await rpc(RPC_URL, 'evm_mine')
  const chainId = Number(BigInt(await rpc(RPC_URL, 'eth_chainId')))
  log(`anvil at ${RPC_URL}, chain ${chainId}`)

  // A fresh payer funded with 10.00 PathUSD by dev account 0, and a fresh recipient.
  const { generatePrivateKey, privateKeyToAccount } = await sdkImport('viem/accounts')
  const payerKey = generatePrivateKey()
  const payer = privateKeyToAccount(payerKey).address
  const recipient = privateKeyToAccount(generatePrivateKey()).address
  const fundHash = await rpc(RPC_URL, 'eth_sendTransaction', [
    { from: DEV0, to: PATH_USD, data: transferData(payer, 10_000_000n) },
  ])
  const fundReceipt = await waitReceipt(RPC_URL, fundHash)
  check('payer funded', fundReceipt.status === '0x1' && (await balanceOf(RPC_URL, PATH_USD, payer)) === 10_000_000n)

  // ---- official server, both rails ---------------------------------------------------------------
  const serverEnv = {
    RAILS: 'both',
    AMOUNT: '1.25',
    CURRENCY: 'USD',
    CRYPTO_RECIPIENT: recipient,
    RPC_URL,
    SECRET_KEY: 'selftest-secret-key-0123456789abcdef',
    REALM: 'redotpay.selftest',
    VALID_RDTS: 'rdt_selftest_1,rdt_selftest_2',
  }
  const { child: server, match: sm } = await startAndWait(process.execPath, [path.join(here, 'server.mjs')], {
    env: serverEnv,
    pattern: /^LISTENING (http:\/\/127\.0\.0\.1:\d+)$/,
    name: 'server',
  })
  const URL_ = `${sm[1]}/paid`
  log(`server at ${URL_}`)

  // Unpaid request: 402 payment-required + challenge.
  const unpaid = await fetch(URL_)
  const unpaidBody = await unpaid.json()
  check('unpaid -> 402 payment-required', unpaid.status === 402 &&
    unpaidBody.type === 'https://paymentauth.org/problems/payment-required' &&
    unpaid.headers.get('cache-control') === 'no-store' &&
    /^Payment id="/.test(unpaid.headers.get('www-authenticate') ?? ''), {
    status: unpaid.status,
    type: unpaidBody.type,
  })

  // Balance rail.
  const bal = await runClient({ URL: URL_, RAIL: 'balance', RDT: 'rdt_selftest_1' })
  check('balance rail -> 200 with receipt', bal.code === 0 && bal.result.status === 200 &&
    bal.result.receipt?.method === 'redotpay' && bal.result.receipt?.reference === 'rdt_selftest_1' &&
    bal.result.receipt?.status === 'success' && bal.result.cacheControl === 'private', {
    status: bal.result.status,
    receipt: bal.result.receipt,
  })
  check('challenge request normalised (currency lower-cased, decimal 0 added)',
    bal.result.challenge?.request?.currency === 'usd' && bal.result.challenge?.request?.decimal === 0,
    bal.result.challenge?.request)

  const balReplay = await runClient({ URL: URL_, RAIL: 'balance', RDT: 'rdt_selftest_1', EXPECT_STATUS: '402' })
  check('balance rail replay (same rdt, new challenge) -> 402 verification-failed',
    balReplay.result.status === 402 &&
    balReplay.result.body?.type === 'https://paymentauth.org/problems/verification-failed' &&
    /already consumed/.test(balReplay.result.body?.detail ?? '') && balReplay.result.receipt === null, {
    status: balReplay.result.status,
    type: balReplay.result.body?.type,
    detail: balReplay.result.body?.detail,
  })

  const balBad = await runClient({ URL: URL_, RAIL: 'balance', RDT: 'rdt_unknown', EXPECT_STATUS: '402' })
  check('balance rail unknown rdt -> 402 verification-failed', balBad.result.status === 402 &&
    balBad.result.body?.type === 'https://paymentauth.org/problems/verification-failed', balBad.result.body?.detail)

  // Crypto rail: pay on chain, then present the hash.
  const before = await balanceOf(RPC_URL, PATH_USD, recipient)
  const cr = await runClient({ URL: URL_, RAIL: 'crypto', RPC_URL, PRIVATE_KEY: payerKey })
  const after = await balanceOf(RPC_URL, PATH_USD, recipient)
  const hash = cr.result.txHash
  const expectedRef = `crypto:${chainId}:${PATH_USD}:${hash}`
  check('crypto rail -> 200 with receipt', cr.code === 0 && cr.result.status === 200 &&
    cr.result.receipt?.reference === expectedRef, { status: cr.result.status, receipt: cr.result.receipt })
  check('recipient balanceOf rose by 1.25 PathUSD', after - before === 1_250_000n, {
    before: before.toString(),
    after: after.toString(),
  })

  const crReplay = await runClient({ URL: URL_, RAIL: 'crypto', TX_HASH: hash, EXPECT_STATUS: '402' })
  check('crypto rail replay (same tx hash, new challenge) -> 402 verification-failed',
    crReplay.result.status === 402 &&
    crReplay.result.body?.type === 'https://paymentauth.org/problems/verification-failed' &&
    /already consumed/.test(crReplay.result.body?.detail ?? ''), {
    status: crReplay.result.status,
    type: crReplay.result.body?.type,
    detail: crReplay.result.body?.detail,
  })

  const crUpper = await runClient({
    URL: URL_,
    RAIL: 'crypto',
    TX_HASH: `0x${hash.slice(2).toUpperCase()}`,
    EXPECT_STATUS: '402',
  })
  check('crypto rail replay with an upper-case hash -> 402 (fixture verifyCrypto wants the canonical hash)',
    crUpper.result.status === 402 && crUpper.result.body?.type === 'https://paymentauth.org/problems/verification-failed',
    crUpper.result.body?.detail)

  const crWrong = await runClient({ URL: URL_, RAIL: 'crypto', TX_HASH: fundHash, EXPECT_STATUS: '402' })
  check('crypto rail with a tx that did not pay the recipient -> 402 verification-failed',
    crWrong.result.status === 402 && crWrong.result.body?.type === 'https://paymentauth.org/problems/verification-failed',
    crWrong.result.body?.detail)

  // A payload that fails the method schema (chainId as a string) -> invalid-payload.
  const mppx = await sdkImport('mppx')
  const first = await fetch(URL_)
  const challenge = mppx.Challenge.deserialize(first.headers.get('www-authenticate'))
  const badAuth = mppx.Credential.serialize({
    challenge,
    payload: { type: 'crypto', chainId: String(chainId), currency: PATH_USD, hash },
  })
  const bad = await fetch(URL_, { headers: { Authorization: badAuth } })
  const badBody = await bad.json()
  check('schema-invalid payload -> 402 invalid-payload', bad.status === 402 &&
    badBody.type === 'https://paymentauth.org/problems/invalid-payload', { status: bad.status, type: badBody.type })

  const consumedLog = server.stderrLines.filter((l) => l.includes('CONSUMED '))
  check('server logged each consumed reference once', consumedLog.length === 2 &&
    consumedLog.some((l) => l.endsWith(' rdt_selftest_1')) && consumedLog.some((l) => l.endsWith(` ${expectedRef}`)),
    consumedLog)

  // ---- the charge guide's manual flow (MODE=guide): receipt in the body only ----------------------
  const { match: gm } = await startAndWait(process.execPath, [path.join(here, 'server.mjs')], {
    env: { ...serverEnv, RAILS: 'balance', MODE: 'guide' },
    pattern: /^LISTENING (http:\/\/127\.0\.0\.1:\d+)$/,
    name: 'guide-server',
  })
  const guide = await runClient({ URL: `${gm[1]}/paid`, RAIL: 'balance', RDT: 'rdt_selftest_2' })
  check('guide-style server -> 200, receipt in body, no Payment-Receipt header', guide.result.status === 200 &&
    guide.result.receipt === null && guide.result.body?.receipt?.reference === 'rdt_selftest_2', {
    status: guide.result.status,
    body: guide.result.body,
  })
  const guideReplay = await runClient({ URL: `${gm[1]}/paid`, RAIL: 'balance', RDT: 'rdt_selftest_2', EXPECT_STATUS: '402' })
  check('guide-style server replay -> 402 verification-failed', guideReplay.result.status === 402 &&
    guideReplay.result.body?.type === 'https://paymentauth.org/problems/verification-failed', guideReplay.result.body?.detail)

  summary.ok = checks.every((c) => c.ok)
  summary.chainId = chainId
  summary.txHash = hash
} catch (e) {
  log(`error: ${e?.stack ?? e}`)
  summary.error = String(e?.message ?? e)
}
summary.passed = checks.filter((c) => c.ok).length
summary.failed = checks.filter((c) => !c.ok).map((c) => c.name)
cleanup()
process.stdout.write(`${JSON.stringify(summary)}\n`)
process.exit(summary.ok ? 0 : 1)
