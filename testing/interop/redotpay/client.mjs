#!/usr/bin/env node
// The official @redotpay/mpp client paying a URL (method `redotpay`, intent `charge`).
//
// Configured by environment only; see testing/interop/README.md (## RedotPay) for the contract.
// stdout: one final JSON line {status, receipt, body, ...}; logs go to stderr.
// Exit 0 when the final status equals EXPECT_STATUS (default 200), 1 otherwise, 2 on usage errors.

import { balanceOf, decimalsOf, decodeB64urlJson, log, rpc, sdkImport, toBaseUnits, transferData } from './lib.mjs'

const env = process.env
const usage = (msg) => {
  log(`error: ${msg}`)
  process.stdout.write(`${JSON.stringify({ status: null, error: msg })}\n`)
  process.exit(2)
}

const URL_ = env.URL || process.argv[2]
if (!URL_) usage('URL is required')
const RAIL = (env.RAIL || 'balance').trim()
if (!['balance', 'crypto'].includes(RAIL)) usage(`RAIL must be balance|crypto, got ${RAIL}`)
const EXPECT_STATUS = Number(env.EXPECT_STATUS || 200)

const { charge } = await sdkImport('@redotpay/mpp/client')
const mppx = await sdkImport('mppx')

const out = { status: null, receipt: null, body: null }
const finish = (code) => {
  process.stdout.write(`${JSON.stringify(out)}\n`)
  process.exit(code)
}

try {
  // 1. Unpaid request -> 402 with one or more Payment challenges; take the redotpay/charge one.
  const first = await fetch(URL_, { signal: AbortSignal.timeout(30_000) })
  out.firstStatus = first.status
  const www = first.headers.get('www-authenticate')
  if (first.status !== 402 || !www) {
    out.status = first.status
    out.body = await readBody(first)
    log(`expected 402 with WWW-Authenticate, got ${first.status}`)
    finish(out.status === EXPECT_STATUS ? 0 : 1)
  }
  const challenges = mppx.Challenge.deserializeList(www)
  const challenge = challenges.find((c) => c.method === 'redotpay' && c.intent === 'charge')
  if (!challenge) throw new Error(`no redotpay/charge challenge in: ${www}`)
  out.challenge = {
    id: challenge.id,
    realm: challenge.realm,
    expires: challenge.expires,
    request: challenge.request,
  }
  log(`challenge ${challenge.id} request=${JSON.stringify(challenge.request)}`)

  // 2. Build the payload for the chosen rail.
  let payload
  if (RAIL === 'balance') {
    if (!challenge.request.methodDetails?.balance) throw new Error('challenge offers no balance rail')
    const rdt = env.RDT
    if (!rdt) usage('RAIL=balance needs RDT')
    payload = { type: 'balance', rdt }
  } else {
    const entries = challenge.request.methodDetails?.crypto ?? []
    const entry = entries.find(
      (c) =>
        (!env.CHAIN_ID || c.chainId === Number(env.CHAIN_ID)) &&
        (!env.CURRENCY || c.currency.toLowerCase() === env.CURRENCY.toLowerCase()),
    )
    if (!entry) throw new Error(`challenge offers no matching crypto rail: ${JSON.stringify(entries)}`)
    let hash = env.TX_HASH
    if (hash) {
      log(`reusing TX_HASH ${hash} (no new payment)`)
    } else {
      hash = await payOnChain(entry)
    }
    out.txHash = hash
    payload = { type: 'crypto', chainId: entry.chainId, currency: entry.currency, hash }
  }
  if (env.EXTERNAL_ID) payload.externalId = env.EXTERNAL_ID

  // 3. Official client method -> Authorization: Payment <credential>, retry.
  const method = charge({ payload })
  const authorization = await method.createCredential({ challenge })
  out.credential = decodeB64urlJson(authorization.replace(/^Payment\s+/, ''))
  const paid = await fetch(URL_, {
    headers: { Authorization: authorization },
    signal: AbortSignal.timeout(60_000),
  })
  out.status = paid.status
  const receiptHeader = paid.headers.get('payment-receipt')
  out.receipt = receiptHeader ? decodeB64urlJson(receiptHeader) ?? receiptHeader : null
  out.cacheControl = paid.headers.get('cache-control')
  out.body = await readBody(paid)
  if (paid.status !== 200) {
    const retry = paid.headers.get('www-authenticate')
    out.retryChallenge = retry ? mppx.Challenge.deserialize(retry).id : null
  }
  log(`paid request -> ${paid.status}`)
  finish(out.status === EXPECT_STATUS ? 0 : 1)
} catch (e) {
  log(`error: ${e?.stack ?? e}`)
  out.error = String(e?.message ?? e)
  finish(1)
}

async function readBody(res) {
  const text = await res.text()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Pays `entry` on chain with a TIP-20 `transfer` from PRIVATE_KEY; returns the mined tx hash. */
async function payOnChain(entry) {
  const RPC_URL = env.RPC_URL
  const key = env.PRIVATE_KEY
  if (!RPC_URL || !key) usage('RAIL=crypto needs RPC_URL and PRIVATE_KEY (or TX_HASH)')
  const { createWalletClient, defineChain, http } = await sdkImport('viem')
  const { tempoLocalnet } = await sdkImport('viem/chains')
  const { privateKeyToAccount } = await sdkImport('viem/accounts')
  const account = privateKeyToAccount(key)
  const chainId = Number(BigInt(await rpc(RPC_URL, 'eth_chainId')))
  if (chainId !== entry.chainId) throw new Error(`RPC chain ${chainId} is not the challenge's chain ${entry.chainId}`)
  const amount = toBaseUnits(entry.amount, entry.decimal, await decimalsOf(RPC_URL, entry.currency))
  // A Tempo transaction (type 0x76) paying its fee in a TIP-20 token: a fresh key funded only
  // with the payment token has no native balance, so an Ethereum-type transaction would fail with
  // "insufficient funds". nonceKey 0 = the protocol nonce lane (no expiring nonce; see LOCALNET).
  const feeToken = env.FEE_TOKEN || entry.currency
  const chain = defineChain({
    ...tempoLocalnet,
    id: chainId,
    name: `tempo-${chainId}`,
    rpcUrls: { default: { http: [RPC_URL] } },
    feeToken,
  })
  const wallet = createWalletClient({ account, chain, transport: http(RPC_URL, { timeout: 15_000 }) })
  const before = await balanceOf(RPC_URL, entry.currency, entry.recipient)
  log(`paying ${amount} base units of ${entry.currency} to ${entry.recipient} from ${account.address}`)
  const hash = await wallet.sendTransaction({
    to: entry.currency,
    data: transferData(entry.recipient, amount),
    feeToken,
    nonceKey: 0n,
  })
  const receipt = await waitForReceipt(RPC_URL, hash)
  if (receipt.status !== '0x1') throw new Error(`transfer ${hash} failed (status ${receipt.status})`)
  const after = await balanceOf(RPC_URL, entry.currency, entry.recipient)
  out.onChain = {
    from: account.address,
    recipient: entry.recipient,
    token: entry.currency,
    amount: amount.toString(),
    recipientBefore: before.toString(),
    recipientAfter: after.toString(),
    blockNumber: Number(BigInt(receipt.blockNumber)),
  }
  log(`transfer mined ${hash} in block ${out.onChain.blockNumber}`)
  return hash
}

async function waitForReceipt(url, hash, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const r = await rpc(url, 'eth_getTransactionReceipt', [hash])
    if (r) return r
    await new Promise((res) => setTimeout(res, 250))
  }
  throw new Error(`no receipt for ${hash} after ${timeoutMs} ms`)
}

