#!/usr/bin/env node
// Pays one URL with the official TypeScript SDK client (mppx) and the Tempo `charge` intent,
// signing with a local private key. Interop tests point it at a Rust server.
//
// Usage: node client.mjs [URL]     (argv[2] wins over the URL variable)
//
// Environment:
//   URL          the resource to GET (required unless given as argv[2])
//   RPC_URL      Tempo JSON-RPC endpoint (required)
//   CHAIN_ID     chain id of that node, decimal (required; challenges for another chain are refused)
//   PRIVATE_KEY  payer key, 0x-prefixed hex (required). The payer needs the amount in the challenge
//                currency, plus fees in pathUSD unless the server sponsors them.
//   MODE         pull | push; unset → mppx's own choice (pull for a local key, unless the
//                challenge's supportedModes rules it out)
//   CLIENT_ID    optional clientId for the attribution memo (bytes 15..25)
//   RPC_TIMEOUT_MS  bound on every JSON-RPC call (default 20000; no retries)
//   MPP_NODE_MODULES  where mppx and viem are installed (default <workspace>/.tools/node_modules)
//
// Stdout: exactly one JSON line
//   {"status":200,"receipt":{...}|null,"body":<JSON or text>,"challenge":"<last WWW-Authenticate>"|null,
//    "credential":{...decoded credential JSON...}|null,"payer":"0x..."}
// `receipt` is the decoded Payment-Receipt header, `credential` the decoded Authorization token the
// client sent last. Exit status: 0 when the final status is 2xx and a receipt came back, 1 when not
// (the JSON line is still printed), 2 on bad configuration. Logs go to stderr.

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

setLogPrefix('mppx-client')

const url = process.argv[2] ?? requireEnv('URL')
const rpcUrl = requireEnv('RPC_URL')
const chainId = parseChainId(requireEnv('CHAIN_ID'))
const privateKey = requireEnv('PRIVATE_KEY')
const mode = optionalEnv('MODE')
const clientId = optionalEnv('CLIENT_ID')
if (mode !== undefined && mode !== 'pull' && mode !== 'push') fail(`MODE must be pull or push, got ${mode}`, 2)

const { Mppx, tempo } = await load('mppx/client')
const { privateKeyToAccount } = await load('viem/accounts')
const account = privateKeyToAccount(privateKey)
const getClient = await clientResolver(chainId, rpcUrl)

// Records what goes over the wire so the result line can show it.
let lastChallenge = null
let lastAuthorization = null
async function recordingFetch(input, init) {
  const authorization = new Headers(init?.headers).get('authorization')
  if (authorization) lastAuthorization = authorization
  const response = await globalThis.fetch(input, init)
  const challenge = response.headers.get('www-authenticate')
  if (response.status === 402 && challenge) lastChallenge = challenge
  log(`${init?.method ?? 'GET'} ${input} ${authorization ? '(with credential) ' : ''}-> ${response.status}`)
  return response
}

const mppx = Mppx.create({
  polyfill: false,
  fetch: recordingFetch,
  methods: [
    tempo.charge({
      account,
      getClient,
      expectedChainId: chainId,
      ...(mode ? { mode } : {}),
      ...(clientId ? { clientId } : {}),
    }),
  ],
})

log(`mppx ${installedVersion('mppx')}; payer ${account.address}; mode ${mode ?? '(mppx default)'}; ${url}`)

let result
try {
  const response = await mppx.fetch(url)
  const text = await response.text()
  let body = text
  try {
    body = JSON.parse(text)
  } catch {}
  const receiptHeader = response.headers.get('payment-receipt')
  const token = lastAuthorization?.replace(/^Payment\s+/i, '')
  result = {
    status: response.status,
    receipt: receiptHeader ? (decodeBase64UrlJson(receiptHeader) ?? receiptHeader) : null,
    body,
    challenge: lastChallenge,
    credential: token ? (decodeBase64UrlJson(token) ?? token) : null,
    payer: account.address,
  }
} catch (error) {
  log(`payment failed: ${error?.stack ?? error}`)
  result = {
    status: null,
    receipt: null,
    body: null,
    challenge: lastChallenge,
    credential: null,
    payer: account.address,
    error: String(error?.message ?? error),
  }
}

process.stdout.write(`${JSON.stringify(result)}\n`)
const ok = typeof result.status === 'number' && result.status >= 200 && result.status < 300 && result.receipt
process.exit(ok ? 0 : 1)
