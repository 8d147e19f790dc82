#!/usr/bin/env node
// Pays for requests through a Tempo `session` with the official TypeScript SDK client (mppx
// `tempo.session.manager`, TIP-1034 channel reserve, `sessionProtocol` "v2"), signing with a
// local private key: opens a channel on the first 402, pays REQUESTS requests to URL with
// cumulative vouchers (topping up when the deposit runs out), optionally reads one metered SSE
// stream, then closes the channel cooperatively. Interop tests point it at a session server (the
// Rust one, or session-server.mjs).
//
// Usage: node session-client.mjs [URL]     (argv[2] wins over the URL variable)
//
// Environment:
//   URL          the paid resource to GET REQUESTS times (required unless given as argv[2])
//   RPC_URL      Tempo JSON-RPC endpoint (required); on the testkit's session chain, its relay
//   CHAIN_ID     chain id of that node, decimal (required; challenges for other chains are refused)
//   PRIVATE_KEY  payer key, 0x hex (required). The payer needs the deposits in the challenge
//                currency plus, unless the server sponsors fees, the fees in that currency; on the
//                local chain it must also have approved the reserve (the testkit's session payer).
//   REQUESTS     how many paid requests (default 3; 0 is allowed with STREAM_URL)
//   MAX_DEPOSIT  the manager's `maxDeposit`, token units: the most it will ever authorise in
//                total (default: unset; mppx then deposits the challenge's suggestedDeposit and
//                tops up by it)
//   STREAM_URL   optional: after the requests, GET this SSE resource with `manager.sse()` and
//                read it to the end (vouchers are posted as the server asks)
//   WS_URL       optional: after the stream, open this metered WebSocket resource (ws://…) with
//                `manager.ws()` (the `ws` package as the WebSocket) and read it until it closes
//                (vouchers are sent as frames as the server asks)
//   CLOSE        "false" leaves the channel open (default: close it)
//   RPC_TIMEOUT_MS    bound on every JSON-RPC call (default 20000; no retries)
//   MPP_NODE_MODULES  where mppx and viem are installed (default <workspace>/.tools/node_modules)
//
// Stdout: exactly one JSON line (amounts are base-unit decimal strings):
//   {"ok":true,"payer":"0x…","channelId":"0x…","deposit":"…","cumulative":"…",
//    "requests":[{"status":200,"receipt":{…session receipt…},"body":…},…],
//    "stream":{"messages":["tick 0",…],"receipts":[…]}|null,
//    "ws":{"messages":[…],"receipts":<count>,"lastReceipt":{…}|null,"close":{"code":1000,"reason":"…"}}|null,
//    "close":{…close receipt, with txHash…}|null,
//    "exchanges":[{"method":"GET","path":"/paid","action":"open"|…|null,"status":200,
//                  "paymentSession"?,"cumulativeAmount"?,"additionalDeposit"?,"receipt"?,
//                  "credential"?},…],
//    "error"?: "…"}
// `deposit` is the channel's deposit as the client last knew it (open plus top-ups), `cumulative`
// its highest voucher. `exchanges` lists every HTTP request the manager made, in order: the
// credential's action (null for a request without one), the `Payment-Session` header it sent,
// the decoded `Payment-Receipt` it got, and the decoded credential (`{challenge, payload,
// source}`, as sent: a replay test can send it again). Exit status: 0 when every request got a 2xx with a receipt and the close
// (when asked) a receipt with a txHash, 1 otherwise (the line is still printed), 2 on bad
// configuration. Logs go to stderr.

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

setLogPrefix('mppx-session-client')

const url = process.argv[2] ?? requireEnv('URL')
const rpcUrl = requireEnv('RPC_URL')
const chainId = parseChainId(requireEnv('CHAIN_ID'))
const privateKey = requireEnv('PRIVATE_KEY')
const requests = Number(optionalEnv('REQUESTS') ?? '3')
const maxDeposit = optionalEnv('MAX_DEPOSIT')
const streamUrl = optionalEnv('STREAM_URL')
const wsUrl = optionalEnv('WS_URL')
const close = optionalEnv('CLOSE') !== 'false'
if (!Number.isInteger(requests) || requests < 0) fail(`REQUESTS must be a non-negative integer, got ${requests}`, 2)

const { createChannelStore, tempo } = await load('mppx/client')
const WebSocketImpl = wsUrl ? (await load('ws')).WebSocket : undefined
const { privateKeyToAccount } = await load('viem/accounts')
let account
try {
  account = privateKeyToAccount(privateKey)
} catch (error) {
  fail(`bad PRIVATE_KEY: ${error?.message ?? error}`, 2)
}
const getClient = await clientResolver(chainId, rpcUrl)

/** Every HTTP exchange the manager makes: the credential it sent (decoded) and the receipt. */
const exchanges = []
async function recordingFetch(input, init) {
  const request = new Request(input, init)
  const credential = decodeBase64UrlJson(/^Payment\s+(\S+)/i.exec(request.headers.get('authorization') ?? '')?.[1])
  const payload = credential?.payload
  const paymentSession = request.headers.get('payment-session')
  const response = await globalThis.fetch(input, init)
  const receipt = decodeBase64UrlJson(response.headers.get('payment-receipt'))
  const exchange = {
    method: request.method,
    path: new URL(request.url).pathname,
    action: payload?.action ?? null,
    status: response.status,
    ...(paymentSession ? { paymentSession } : {}),
    ...(payload?.cumulativeAmount !== undefined ? { cumulativeAmount: payload.cumulativeAmount } : {}),
    ...(payload?.additionalDeposit !== undefined ? { additionalDeposit: payload.additionalDeposit } : {}),
    ...(receipt ? { receipt } : {}),
    ...(credential ? { credential } : {}),
  }
  exchanges.push(exchange)
  log(`${exchange.method} ${request.url} ${exchange.action ?? '(no credential)'} -> ${response.status}`)
  return response
}

/** The channel store, watched for the latest entry (its deposit). */
const backing = createChannelStore()
let entry
const channelStore = {
  get: (key) => backing.get(key),
  set(next) {
    entry = next
    return backing.set(next)
  },
  delete: (key) => backing.delete(key),
}

const manager = tempo.session.manager({
  account,
  getClient,
  allowedChainIds: [chainId],
  channelStore,
  fetch: recordingFetch,
  ...(maxDeposit ? { maxDeposit } : {}),
  ...(WebSocketImpl ? { webSocket: WebSocketImpl } : {}),
})

log(`mppx ${installedVersion('mppx')}; payer ${account.address}; ${requests} requests to ${url}`)

const result = {
  ok: false,
  payer: account.address,
  channelId: null,
  deposit: null,
  cumulative: null,
  requests: [],
  stream: null,
  ws: null,
  close: null,
  exchanges,
}
try {
  for (let i = 0; i < requests; i++) {
    const response = await manager.fetch(url)
    const text = await response.text()
    let body = text
    try {
      body = JSON.parse(text)
    } catch {}
    result.requests.push({ status: response.status, receipt: response.receipt ?? null, body })
    if (!response.ok) throw new Error(`request ${i + 1} answered ${response.status}: ${text}`)
  }
  if (streamUrl) {
    const receipts = []
    const messages = []
    const stream = await manager.sse(streamUrl, { onReceipt: (receipt) => receipts.push(receipt) })
    for await (const message of stream) messages.push(message)
    result.stream = { messages, receipts }
  }
  if (wsUrl) {
    const receipts = []
    const messages = []
    const socket = await manager.ws(wsUrl, { onReceipt: (receipt) => receipts.push(receipt) })
    const close = await new Promise((resolve, reject) => {
      socket.addEventListener('message', (event) => messages.push(String(event.data)))
      socket.addEventListener('close', (event) => resolve({ code: event.code, reason: String(event.reason ?? '') }))
      socket.addEventListener('error', (event) => reject(new Error(`websocket error: ${event?.message ?? event}`)))
    })
    // One receipt per voucher frame: the count and the last (the line stays short).
    result.ws = { messages, receipts: receipts.length, lastReceipt: receipts.at(-1) ?? null, close }
  }
  result.channelId = manager.channelId ?? null
  result.cumulative = manager.cumulative.toString()
  result.deposit = entry ? entry.deposit.toString() : null
  if (close) result.close = (await manager.close()) ?? null
  result.ok =
    result.requests.every((r) => r.status >= 200 && r.status < 300 && r.receipt) &&
    (!close || typeof result.close?.txHash === 'string')
} catch (error) {
  log(`session failed: ${error?.stack ?? error}`)
  result.channelId ??= manager.channelId ?? null
  result.error = String(error?.message ?? error)
}

process.stdout.write(`${JSON.stringify(result, (_, value) => (typeof value === 'bigint' ? value.toString() : value))}\n`)
process.exit(result.ok ? 0 : 1)
