#!/usr/bin/env node
// An MPP server built with the official TypeScript SDK (mppx), selling requests through the Tempo
// `session` intent (TIP-1034 channel reserve, `sessionProtocol` "v2") against a given Tempo node.
// Interop tests point a session client at it (the Rust one, or session-client.mjs).
//
// Routes (HTTP/1.1 on 127.0.0.1, port chosen by the OS unless PORT is set):
//   GET  /health   200 {"ok":true}                         never charged
//   GET  /paid     402 + session challenge, or 200 {"paid":true} + Payment-Receipt;
//                  AMOUNT per request, taken from the channel's accepted vouchers
//   GET  /stream   402, or 200 text/event-stream: STREAM_TICKS `event: message` frames
//                  (`tick 0`, `tick 1`, …), AMOUNT each, with `payment-need-voucher` events
//                  when the credit runs out and a final `payment-receipt` event
//   any method on /paid or /stream with a management credential (open or voucher on a bodiless
//   POST or HEAD, topUp, close): 204 + Payment-Receipt, nothing charged
//   anything else  404
//
// Environment:
//   RPC_URL            Tempo JSON-RPC endpoint (required); on the testkit's session chain, its relay
//   CHAIN_ID           chain id of that node, decimal (required; in every challenge)
//   SECRET_KEY         HMAC secret for challenge ids, at least 32 bytes (required)
//   RECIPIENT          the payee: the channels' payee and the address paid on settle/close (required)
//   PRIVATE_KEY        the payee's private key, 0x hex (required; must be RECIPIENT's key): the
//                      server signs close (and settle) transactions with it and pays their fees
//   CURRENCY           TIP-20 token address (required)
//   AMOUNT             price per request (per SSE tick) in token units, e.g. "0.01" (required)
//   SUGGESTED_DEPOSIT  challenge `suggestedDeposit`, token units, e.g. "0.05" (required)
//   UNIT_TYPE          challenge `unitType` (default "request")
//   MIN_VOUCHER_DELTA  `methodDetails.minVoucherDelta`, token units (default: unset, mppx accepts any)
//   FEE_PAYER_KEY      private key of a sponsor: challenges carry `feePayer:true` and the server
//                      co-signs open and topUp transactions (the payer pays no fee)
//   STREAM_TICKS       messages per /stream response (default 5)
//   REALM              realm; when unset mppx picks one (for this server: 127.0.0.1)
//   PORT               port to listen on (default 0 = any free port)
//   RPC_TIMEOUT_MS     bound on every JSON-RPC call (default 20000; no retries)
//   MPP_NODE_MODULES   where mppx and viem are installed (default <workspace>/.tools/node_modules)
//
// Stdout: exactly one line, `LISTENING http://127.0.0.1:<port>`, once the socket is bound.
// Stderr: one log line per request: method, path, the decoded credential (action, channel,
// amounts), the status and the receipt's fields. Runs until SIGTERM/SIGINT (then exits 0). Exits
// 2 on bad configuration, 1 when mppx refuses the configuration.

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

setLogPrefix('mppx-session-server')

const rpcUrl = requireEnv('RPC_URL')
const chainId = parseChainId(requireEnv('CHAIN_ID'))
const secretKey = requireEnv('SECRET_KEY')
const recipient = requireEnv('RECIPIENT')
const privateKey = requireEnv('PRIVATE_KEY')
const currency = requireEnv('CURRENCY')
const amount = requireEnv('AMOUNT')
const suggestedDeposit = requireEnv('SUGGESTED_DEPOSIT')
const unitType = optionalEnv('UNIT_TYPE') ?? 'request'
const minVoucherDelta = optionalEnv('MIN_VOUCHER_DELTA')
const feePayerKey = optionalEnv('FEE_PAYER_KEY')
const streamTicks = Number(optionalEnv('STREAM_TICKS') ?? '5')
const realm = optionalEnv('REALM')
const port = Number(optionalEnv('PORT') ?? '0')

if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad PORT ${port}`, 2)
if (!Number.isInteger(streamTicks) || streamTicks < 0) fail(`bad STREAM_TICKS ${streamTicks}`, 2)

const { Mppx, Request: MppxRequest, tempo } = await load('mppx/server')
const { privateKeyToAccount } = await load('viem/accounts')
let account
let feePayer
try {
  account = privateKeyToAccount(privateKey)
  feePayer = feePayerKey ? privateKeyToAccount(feePayerKey) : undefined
} catch (error) {
  fail(`bad PRIVATE_KEY or FEE_PAYER_KEY: ${error?.message ?? error}`, 2)
}
if (account.address.toLowerCase() !== recipient.toLowerCase())
  fail(`PRIVATE_KEY is the key of ${account.address}, not of RECIPIENT ${recipient}`, 2)

let route
try {
  const getClient = await clientResolver(chainId, rpcUrl)
  const mppx = Mppx.create({
    ...(realm ? { realm } : {}),
    secretKey,
    methods: [
      tempo.session({
        account,
        recipient,
        chainId,
        currency,
        getClient,
        // The SSE transport meters /stream and still charges plain responses per request.
        sse: true,
        ...(feePayer ? { feePayer } : {}),
      }),
    ],
  })
  route = mppx.session({
    amount,
    suggestedDeposit,
    unitType,
    ...(minVoucherDelta ? { minVoucherDelta } : {}),
  })
  log(
    `mppx ${installedVersion('mppx')}, viem ${installedVersion('viem')}; chain ${chainId} at ${rpcUrl};`,
    `${amount} of ${currency} per ${unitType} to ${recipient}; suggested deposit ${suggestedDeposit};`,
    feePayer ? `fee payer ${feePayer.address}` : 'no fee payer',
  )
} catch (error) {
  fail(`cannot configure mppx: ${error?.stack ?? error}`)
}

/** The decoded session credential of a request, for the log. */
function describeCredential(header) {
  if (!header) return 'without credential'
  const token = /^Payment\s+(\S+)/i.exec(header)?.[1]
  const credential = decodeBase64UrlJson(token)
  const payload = credential?.payload
  if (!payload?.action) return 'with an undecodable credential'
  const fields = [`action=${payload.action}`, `channel=${payload.channelId}`]
  if (payload.cumulativeAmount !== undefined) fields.push(`cumulative=${payload.cumulativeAmount}`)
  if (payload.additionalDeposit !== undefined) fields.push(`additionalDeposit=${payload.additionalDeposit}`)
  if (typeof payload.transaction === 'string') fields.push(`transaction=${payload.transaction.slice(0, 4)}…`)
  fields.push(`descriptor=${payload.descriptor ? 'yes' : 'no'}`, `source=${credential.source ?? '-'}`)
  return `with credential ${fields.join(' ')}`
}

/** The session receipt of a response, for the log. */
function describeReceipt(response) {
  const receipt = decodeBase64UrlJson(response.headers.get('payment-receipt'))
  if (!receipt) return 'no receipt'
  const fields = ['acceptedCumulative', 'spent', 'units', 'txHash']
    .filter((key) => receipt[key] !== undefined)
    .map((key) => `${key}=${receipt[key]}`)
  return `receipt ${fields.join(' ')}`
}

async function handle(request) {
  const path = new URL(request.url).pathname
  if (path === '/health') return Response.json({ ok: true })
  if (path !== '/paid' && path !== '/stream') return Response.json({ error: 'not found' }, { status: 404 })
  const credential = describeCredential(request.headers.get('authorization'))
  let response
  try {
    const result = await route(request)
    if (result.status === 402) response = result.challenge
    else if (path === '/paid') response = result.withReceipt(Response.json({ paid: true }))
    else
      response = result.withReceipt(async function* (stream) {
        for (let tick = 0; tick < streamTicks; tick++) {
          await stream.charge()
          yield `tick ${tick}`
        }
      })
  } catch (error) {
    log(`${request.method} ${path} ${credential} -> 500: ${error?.stack ?? error}`)
    return Response.json({ error: String(error?.message ?? error) }, { status: 500 })
  }
  log(`${request.method} ${path} ${credential} -> ${response.status} ${describeReceipt(response)}`)
  return response
}

const server = http.createServer(MppxRequest.toNodeListener(handle))
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
