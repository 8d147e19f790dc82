#!/usr/bin/env node
// An MPP server built with the official TypeScript SDK (mppx), charging with the Tempo `charge`
// intent against a given Tempo node. Interop tests point a Rust client at it.
//
// Routes (HTTP/1.1 on 127.0.0.1, port chosen by the OS unless PORT is set):
//   GET /health  200 {"ok":true}                       never charged
//   GET /paid    402 + challenge, or 200 {"paid":true}  + Payment-Receipt, charged AMOUNT per call
//   anything else 404
//
// Environment:
//   RPC_URL        Tempo JSON-RPC endpoint (required)
//   CHAIN_ID       chain id of that node, decimal (required; written into every challenge)
//   SECRET_KEY     HMAC secret for challenge ids, at least 32 bytes (required)
//   RECIPIENT      address that receives payments (required)
//   CURRENCY       TIP-20 token address (required)
//   AMOUNT         price in token units, decimal, e.g. "0.01" (6 decimals → "10000") (required)
//   REALM          realm; when unset mppx picks one (MPP_REALM, ... , else the request's host)
//   MODE           pull | push | both (default both): pull → supportedModes ["pull"],
//                  push → ["push"], both → supportedModes omitted
//   FEE_PAYER_KEY  private key of a fee sponsor; when set challenges carry feePayer:true and the
//                  server co-signs pull transactions (0x78 fee-payer envelopes)
//   WAIT_FOR_CONFIRMATION  "false" → broadcast without waiting for the receipt (default true)
//   PORT           port to listen on (default 0 = any free port)
//   RPC_TIMEOUT_MS  bound on every JSON-RPC call (default 20000; no retries)
//   MPP_NODE_MODULES  where mppx and viem are installed (default <workspace>/.tools/node_modules)
//
// Stdout: exactly one line, `LISTENING http://127.0.0.1:<port>`, once the socket is bound.
// Stderr: one log line per request. Runs until SIGTERM/SIGINT (then exits 0). Exits 2 on bad
// configuration, 1 when it cannot start.

import * as http from 'node:http'
import {
  clientResolver,
  decodeBase64UrlJson,
  fail,
  installedVersion,
  load,
  log,
  optionalEnv,
  parseChainId,
  requireEnv,
  setLogPrefix,
} from './lib.mjs'

setLogPrefix('mppx-server')

const rpcUrl = requireEnv('RPC_URL')
const chainId = parseChainId(requireEnv('CHAIN_ID'))
const secretKey = requireEnv('SECRET_KEY')
const recipient = requireEnv('RECIPIENT')
const currency = requireEnv('CURRENCY')
const amount = requireEnv('AMOUNT')
const realm = optionalEnv('REALM')
const mode = optionalEnv('MODE') ?? 'both'
const feePayerKey = optionalEnv('FEE_PAYER_KEY')
const waitForConfirmation = optionalEnv('WAIT_FOR_CONFIRMATION') !== 'false'
const port = Number(optionalEnv('PORT') ?? '0')

const supportedModes = { pull: ['pull'], push: ['push'], both: undefined }[mode]
if (!(mode in { pull: 1, push: 1, both: 1 })) fail(`MODE must be pull, push or both, got ${mode}`, 2)
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad PORT ${port}`, 2)

let handler
try {
  const { Mppx, tempo } = await load('mppx/server')
  const { privateKeyToAccount } = await load('viem/accounts')
  const getClient = await clientResolver(chainId, rpcUrl)
  const feePayer = feePayerKey ? privateKeyToAccount(feePayerKey) : undefined

  const mppx = Mppx.create({
    ...(realm ? { realm } : {}),
    secretKey,
    methods: [
      tempo.charge({
        chainId,
        currency,
        recipient,
        getClient,
        waitForConfirmation,
        ...(supportedModes ? { supportedModes } : {}),
        ...(feePayer ? { feePayer } : {}),
      }),
    ],
  })
  handler = Mppx.toNodeListener(mppx.charge({ amount }))
  log(
    `mppx ${installedVersion('mppx')}, viem ${installedVersion('viem')}; chain ${chainId} at ${rpcUrl};`,
    `amount ${amount} of ${currency} to ${recipient}; mode ${mode};`,
    feePayer ? `fee payer ${feePayer.address}` : 'no fee payer',
  )
} catch (error) {
  fail(`cannot configure mppx: ${error?.stack ?? error}`)
}

/** A short description of a Payment credential for the log: its payload type and envelope. */
function describeCredential(header) {
  if (!header) return 'without credential'
  const token = /^Payment\s+(\S+)/i.exec(header)?.[1]
  const credential = decodeBase64UrlJson(token)
  const payload = credential?.payload
  if (!payload?.type) return 'with an undecodable credential'
  const envelope = typeof payload.signature === 'string' ? ` ${payload.signature.slice(0, 4)}` : ''
  return `with credential type=${payload.type}${envelope} source=${credential.source ?? '-'}`
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value)
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname
  try {
    if (path === '/health') return sendJson(res, 200, { ok: true })
    if (path !== '/paid') return sendJson(res, 404, { error: 'not found' })
    const credential = describeCredential(req.headers.authorization)
    const result = await handler(req, res)
    if (result.status === 402) {
      // toNodeListener has already written the challenge (or the error problem document).
      log(`${req.method} ${path} ${credential} -> ${res.statusCode}`)
      return
    }
    // toNodeListener has set Payment-Receipt and Cache-Control on `res`; the body is ours.
    sendJson(res, 200, { paid: true })
    log(`${req.method} ${path} ${credential} -> 200 receipt ${res.getHeader('payment-receipt')}`)
  } catch (error) {
    log(`${req.method} ${path} -> 500: ${error?.stack ?? error}`)
    if (!res.headersSent) sendJson(res, 500, { error: String(error?.message ?? error) })
    else res.end()
  }
})

server.on('error', (error) => fail(`server error: ${error.message}`))
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address()
  process.stdout.write(`LISTENING http://127.0.0.1:${bound}\n`)
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    log(`${signal}: shutting down`)
    server.close()
    server.closeAllConnections?.()
    process.exit(0)
  })
}
