#!/usr/bin/env node
// An official @redotpay/mpp server (method `redotpay`, intent `charge`) charging `GET /paid`.
//
// Configured by environment only; see testing/interop/README.md (## RedotPay) for the contract.
// stdout: exactly one line `LISTENING http://127.0.0.1:<port>` once it accepts connections.
// stderr: logs, including one `CONSUMED <reference>` line per reference consumed.

import http from 'node:http'
import crypto from 'node:crypto'

import {
  PATH_USD,
  TRANSFER_TOPIC,
  addressTopic,
  decimalsOf,
  log,
  rpc,
  sdkImport,
  toBaseUnits,
} from './lib.mjs'

const env = process.env
const fail = (msg) => {
  log(`error: ${msg}`)
  process.exit(2)
}

const { Mppx, charge } = await sdkImport('@redotpay/mpp/server')
const mppx = await sdkImport('mppx')

// ---- configuration ----------------------------------------------------------------------------
const RAILS = (env.RAILS || 'balance').trim()
if (!['balance', 'crypto', 'both'].includes(RAILS)) fail(`RAILS must be balance|crypto|both, got ${RAILS}`)
const MODE = (env.MODE || 'handler').trim() // handler: Mppx.toNodeListener; guide: the docs' manual flow
if (!['handler', 'guide'].includes(MODE)) fail(`MODE must be handler|guide, got ${MODE}`)
const RPC_URL = env.RPC_URL || ''
const SECRET_KEY = env.SECRET_KEY || crypto.randomBytes(32).toString('hex')
const REALM = env.REALM || undefined
const VALID_RDTS = new Set(
  (env.VALID_RDTS || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
)

const request = {
  amount: env.AMOUNT ?? '1.00',
  // DECIMAL unset: the field is left out and the SDK schema defaults it to 0.
  ...(env.DECIMAL !== undefined && env.DECIMAL !== '' ? { decimal: Number(env.DECIMAL) } : {}),
  currency: env.CURRENCY ?? 'usd',
  ...(env.EXTERNAL_ID ? { externalId: env.EXTERNAL_ID } : {}),
  methodDetails: {},
}
if (RAILS === 'balance' || RAILS === 'both') request.methodDetails.balance = {}
if (RAILS === 'crypto' || RAILS === 'both') {
  if (!RPC_URL) fail('RAILS includes crypto: RPC_URL is required (verifyCrypto reads the chain)')
  if (!env.CRYPTO_RECIPIENT) fail('RAILS includes crypto: CRYPTO_RECIPIENT is required')
  const chainId = env.CRYPTO_CHAIN_ID
    ? Number(env.CRYPTO_CHAIN_ID)
    : Number(BigInt(await rpc(RPC_URL, 'eth_chainId')))
  const cryptoDecimal = env.CRYPTO_DECIMAL ?? env.DECIMAL ?? '0'
  request.methodDetails.crypto = [
    {
      chainId,
      currency: env.CRYPTO_CURRENCY || PATH_USD,
      amount: env.CRYPTO_AMOUNT ?? request.amount,
      decimal: Number(cryptoDecimal === '' ? '0' : cryptoDecimal),
      recipient: env.CRYPTO_RECIPIENT,
    },
  ]
}
/** Route options for one request (a fresh `expires` each time when EXPIRES_SECONDS is set). */
const routeOptions = () => ({
  ...request,
  ...(env.DESCRIPTION ? { description: env.DESCRIPTION } : {}),
  ...(env.EXPIRES_SECONDS
    ? { expires: new Date(Date.now() + Number(env.EXPIRES_SECONDS) * 1000).toISOString() }
    : {}),
})

// ---- hooks ------------------------------------------------------------------------------------
const consumed = new Set()

/** Single use per reference (the rdt, or `crypto:<chainId>:<currency lower>:<hash>`). */
async function consumeReference({ reference, challengeId, expires }) {
  if (consumed.has(reference)) {
    log(`REFUSED already consumed ${reference} (challenge ${challengeId})`)
    return false
  }
  consumed.add(reference)
  log(`CONSUMED ${reference}`)
  void expires
  return true
}

/** Balance rail: the rdt must be one listed in VALID_RDTS. */
async function verifyBalance({ rdt, challenge }) {
  const ok = VALID_RDTS.has(rdt)
  log(`verifyBalance rdt=${rdt} challenge=${challenge.id} -> ${ok}`)
  return ok
}

/**
 * Crypto rail: the transaction must be mined on the chain behind RPC_URL, have succeeded, and
 * carry a TIP-20 `Transfer` log emitted by the selected token, to the selected recipient, of at
 * least the selected amount (converted to base units with the token's own decimals).
 */
async function verifyCrypto({ challenge, selected, chainId, currency, hash }) {
  const why = (reason) => {
    log(`verifyCrypto hash=${hash} challenge=${challenge.id} -> false (${reason})`)
    return false
  }
  try {
    const nodeChainId = Number(BigInt(await rpc(RPC_URL, 'eth_chainId')))
    if (nodeChainId !== chainId || selected.chainId !== chainId)
      return why(`chain ${chainId} is not the node's chain ${nodeChainId}`)
    const token = selected.currency.trim().toLowerCase()
    if (currency.trim().toLowerCase() !== token) return why('currency differs from the selected entry')
    const receipt = await rpc(RPC_URL, 'eth_getTransactionReceipt', [hash])
    if (!receipt) return why('no receipt (unknown or pending transaction)')
    // Exact match: the node reports lower-case hashes. This also stops a case variant of an
    // already consumed hash from yielding a second, different reference.
    if (receipt.transactionHash !== hash) return why('hash is not the canonical lower-case form')
    if (receipt.status !== '0x1') return why(`transaction status ${receipt.status}`)
    const required = toBaseUnits(selected.amount, selected.decimal, await decimalsOf(RPC_URL, token))
    const to = addressTopic(selected.recipient)
    let paid = 0n
    for (const l of receipt.logs ?? []) {
      if (l.address?.toLowerCase() !== token) continue
      if (l.topics?.[0]?.toLowerCase() !== TRANSFER_TOPIC) continue
      if (l.topics?.[2]?.toLowerCase() !== to) continue
      paid += BigInt(l.data)
    }
    if (paid < required) return why(`paid ${paid} < required ${required} base units`)
    log(`verifyCrypto hash=${hash} challenge=${challenge.id} -> true (paid ${paid} >= ${required})`)
    return true
  } catch (e) {
    return why(`error: ${e.message}`)
  }
}

const payment = Mppx.create({
  methods: [charge({ consumeReference, verifyBalance, verifyCrypto })],
  ...(REALM ? { realm: REALM } : {}),
  secretKey: SECRET_KEY,
})
payment.onPaymentFailed?.((ctx) => {
  log(`payment.failed ${ctx.error?.type} ${ctx.error?.message}`)
})

// ---- HTTP ------------------------------------------------------------------------------------
const paidHandler = (req, res) => Mppx.toNodeListener(payment['redotpay/charge'](routeOptions()))(req, res)

async function handleGuide(req, res) {
  // The manual flow of the RedotPay charge guide: challenge on no Authorization, else
  // `verifyCredential`. The guide returns the receipt in the JSON body only (no Payment-Receipt
  // header) and does not handle errors; here errors become their problem details + a new challenge.
  const send = async (status, headers, body) => {
    res.writeHead(status, headers)
    res.end(body)
  }
  const freshChallenge = async () =>
    mppx.Challenge.serialize(await payment.challenge.redotpay.charge(routeOptions()))
  const authorization = req.headers.authorization
  if (!authorization) {
    return send(402, { 'WWW-Authenticate': await freshChallenge(), 'Cache-Control': 'no-store' }, '')
  }
  try {
    const receipt = await payment.verifyCredential(authorization)
    return send(200, { 'Content-Type': 'application/json' }, JSON.stringify({ ok: true, receipt }))
  } catch (e) {
    const err =
      e instanceof mppx.Errors.PaymentError
        ? e
        : e?.name === 'InvalidCredentialEncodingError' || e?.name === 'MissingPaymentSchemeError'
          ? new mppx.Errors.MalformedCredentialError({ reason: e.message })
          : new mppx.Errors.InvalidPayloadError({ reason: String(e?.message ?? e).slice(0, 200) })
    return send(
      err.status,
      {
        'WWW-Authenticate': await freshChallenge(),
        'Cache-Control': 'no-store',
        'Content-Type': 'application/problem+json',
      },
      JSON.stringify(err.toProblemDetails()),
    )
  }
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  log(`${req.method} ${url.pathname}${req.headers.authorization ? ' (with Authorization)' : ''}`)
  try {
    if (url.pathname === '/consumed' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      return res.end(JSON.stringify([...consumed]))
    }
    if (url.pathname !== '/paid' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' })
      return res.end('not found')
    }
    if (MODE === 'guide') return await handleGuide(req, res)
    const result = await paidHandler(req, res)
    if (result.status === 402) return
    res.setHeader('Content-Type', 'application/json')
    const header = res.getHeader('payment-receipt')
    const receipt = header ? JSON.parse(Buffer.from(String(header), 'base64url').toString('utf8')) : null
    res.end(JSON.stringify({ ok: true, paid: true, receipt }))
  } catch (e) {
    log(`internal error: ${e?.stack ?? e}`)
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' })
    res.end('internal error')
  }
})

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close()
    process.exit(0)
  })
}

server.listen(Number(env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address()
  log(
    `mode=${MODE} rails=${RAILS} realm=${REALM ?? '(request host)'} request=${JSON.stringify(request)}`,
  )
  process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`)
})
