// Shared helpers for the RedotPay interop fixtures (server.mjs, client.mjs, selftest.mjs).
//
// The official SDK lives in its own npm prefix, `.tools/redotpay/` at the workspace root
// (installed by `scripts/setup`), because it needs mppx 0.6.x while the rest of the workspace
// pins a newer mppx. `REDOTPAY_SDK_DIR` overrides that folder.

import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const repoRoot = path.resolve(here, '..', '..', '..')
export const sdkDir = path.resolve(process.env.REDOTPAY_SDK_DIR || path.join(repoRoot, '.tools', 'redotpay'))

/** PathUSD, the first TIP-20 precompile token of a Tempo chain (6 decimals). */
export const PATH_USD = '0x20c0000000000000000000000000000000000000'
/** keccak256("Transfer(address,address,uint256)") */
export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'

/** Imports a module (bare specifier, e.g. `@redotpay/mpp/server`) from the RedotPay SDK prefix. */
export async function sdkImport(specifier) {
  const require = createRequire(path.join(sdkDir, 'package.json'))
  let resolved
  try {
    resolved = require.resolve(specifier)
  } catch (e) {
    throw new Error(
      `cannot resolve ${specifier} in ${path.relative(repoRoot, sdkDir) || sdkDir}; run scripts/setup (${e.message})`,
    )
  }
  return import(pathToFileURL(resolved).href)
}

/** Log line on stderr (stdout is reserved for the machine-readable contract). */
export function log(...args) {
  process.stderr.write(`[${path.basename(process.argv[1] ?? 'fixture')}] ${args.join(' ')}\n`)
}

/** JSON-RPC call with a hard timeout (a Tempo anvil can hang on some calls). */
export async function rpc(url, method, params = [], timeoutMs = 10_000) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  })
  const json = await res.json()
  if (json.error) throw new Error(`${method}: ${json.error.message ?? JSON.stringify(json.error)}`)
  return json.result
}

export function pad32(hexNoPrefix) {
  return hexNoPrefix.toLowerCase().padStart(64, '0')
}

export function addressTopic(address) {
  return `0x${pad32(address.toLowerCase().replace(/^0x/, ''))}`
}

/** `balanceOf(owner)` of a TIP-20 token, as a bigint. */
export async function balanceOf(url, token, owner) {
  const data = `0x70a08231${pad32(owner.replace(/^0x/, ''))}`
  return BigInt(await rpc(url, 'eth_call', [{ to: token, data }, 'latest']))
}

/** `decimals()` of a TIP-20 token. */
export async function decimalsOf(url, token) {
  return Number(BigInt(await rpc(url, 'eth_call', [{ to: token, data: '0x313ce567' }, 'latest'])))
}

/** ABI data for `transfer(to, amount)`. */
export function transferData(to, amount) {
  return `0xa9059cbb${pad32(to.replace(/^0x/, ''))}${pad32(BigInt(amount).toString(16))}`
}

/**
 * Converts a RedotPay (amount, decimal) pair into base units of a token with `tokenDecimals`.
 *
 * RedotPay's rule (schema of @redotpay/mpp 0.1.2): `amount` matches `^\d+(\.\d+)?$`; a decimal
 * point is only allowed when `decimal` is 0. So the value is `amount / 10^decimal` token units:
 * `("1.25", 0)` is 1.25 units, `("1250000", 6)` is 1.25 units too. Throws when the value is not a
 * whole number of base units.
 */
export function toBaseUnits(amount, decimal, tokenDecimals) {
  const s = String(amount).trim()
  if (!/^\d+(\.\d+)?$/.test(s)) throw new Error(`invalid amount ${JSON.stringify(amount)}`)
  const d = Number(decimal ?? 0)
  if (!Number.isInteger(d) || d < 0) throw new Error(`invalid decimal ${JSON.stringify(decimal)}`)
  if (s.includes('.') && d !== 0) throw new Error('a decimal point is only allowed with decimal 0')
  const [int, frac = ''] = s.split('.')
  // value = (int.frac) / 10^d ; base = value * 10^tokenDecimals
  const digits = BigInt(int + frac)
  const exp = tokenDecimals - d - frac.length
  if (exp >= 0) return digits * 10n ** BigInt(exp)
  const div = 10n ** BigInt(-exp)
  if (digits % div !== 0n) throw new Error(`amount ${s} (decimal ${d}) is finer than ${tokenDecimals} decimals`)
  return digits / div
}

/** Decodes a base64url (no padding) JSON value; returns undefined on failure. */
export function decodeB64urlJson(value) {
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}
