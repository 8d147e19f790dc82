// Shared helpers for the mppx interop fixtures (server.mjs, client.mjs, selftest.mjs).
//
// The npm packages are not installed next to these scripts but in the workspace's tool prefix
// (`scripts/setup` puts them in `.tools/node_modules`). ES-module resolution only looks in
// `node_modules` folders above the importing file, so `load()` resolves a package's ESM entry
// point from that prefix by hand (the `import` / `default` condition of its `exports` map) and
// imports it. Every package is loaded from the same folder, so mppx and the fixtures share one
// copy of viem.
//
// Environment: MPP_NODE_MODULES overrides the folder (default: <workspace>/.tools/node_modules);
// RPC_TIMEOUT_MS bounds every JSON-RPC call the fixtures' viem client makes (default 20000).

import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

/** The folder the fixtures load npm packages from. */
export const nodeModules = process.env.MPP_NODE_MODULES
  ? resolve(process.env.MPP_NODE_MODULES)
  : resolve(here, '../../../.tools/node_modules')

function pickTarget(entry) {
  if (typeof entry === 'string') return entry
  if (entry && typeof entry === 'object') {
    for (const condition of ['import', 'default']) {
      const target = pickTarget(entry[condition])
      if (target) return target
    }
  }
  return undefined
}

/** The file `subpath` maps to in an `exports` map: an exact key, else a `./prefix/*` pattern. */
function resolveExport(exports, subpath) {
  const exact = pickTarget(exports[subpath])
  if (exact) return exact
  for (const [key, entry] of Object.entries(exports)) {
    if (!key.endsWith('*') || !subpath.startsWith(key.slice(0, -1))) continue
    const target = pickTarget(entry)
    if (target) return target.replace('*', subpath.slice(key.length - 1))
  }
  return undefined
}

/**
 * Imports `specifier` (e.g. `mppx/server`, `viem/accounts`, `@modelcontextprotocol/sdk/server/mcp.js`)
 * from {@link nodeModules}.
 */
export async function load(specifier) {
  const parts = specifier.split('/')
  const nameLength = specifier.startsWith('@') ? 2 : 1
  const name = parts.slice(0, nameLength).join('/')
  const subpath = ['.', ...parts.slice(nameLength)].join('/')
  const packageDir = join(nodeModules, name)
  let manifest
  try {
    manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'))
  } catch {
    throw new Error(`${name} is not installed in ${nodeModules}; run scripts/setup`)
  }
  const target = manifest.exports ? resolveExport(manifest.exports, subpath) : undefined
  if (!target) throw new Error(`${name}@${manifest.version} does not export ${subpath}`)
  return import(pathToFileURL(join(packageDir, target)).href)
}

/** The installed version of an npm package, or undefined. */
export function installedVersion(name) {
  try {
    return JSON.parse(readFileSync(join(nodeModules, name, 'package.json'), 'utf8')).version
  } catch {
    return undefined
  }
}

/** Reads a required environment variable or exits with status 2. */
export function requireEnv(name) {
  const value = process.env[name]?.trim()
  if (!value) fail(`missing environment variable ${name}`, 2)
  return value
}

/** Reads an optional environment variable (undefined when unset or empty). */
export function optionalEnv(name) {
  const value = process.env[name]?.trim()
  return value ? value : undefined
}

/** Parses a decimal chain id or exits with status 2. */
export function parseChainId(value) {
  if (!/^[1-9][0-9]*$/.test(value)) fail(`CHAIN_ID must be a positive decimal integer, got ${value}`, 2)
  return Number(value)
}

let logPrefix = 'mppx-fixture'

/** Sets the prefix of stderr log lines. */
export function setLogPrefix(prefix) {
  logPrefix = prefix
}

/** Writes one log line to stderr (stdout is reserved for the machine-readable protocol). */
export function log(...parts) {
  process.stderr.write(`${logPrefix}: ${parts.join(' ')}\n`)
}

/** Logs an error and exits with `code`. */
export function fail(message, code = 1) {
  log(`error: ${message}`)
  process.exit(code)
}

/**
 * A viem chain for a local Tempo node: viem's `tempoLocalnet` definition (Tempo serializers,
 * formatters and fee-token handling) with the node's chain id and RPC URL.
 */
export async function localTempoChain(chainId, rpcUrl) {
  const { defineChain } = await load('viem')
  const { tempoLocalnet } = await load('viem/chains')
  return defineChain({
    ...tempoLocalnet,
    id: chainId,
    rpcUrls: { default: { http: [rpcUrl] } },
  })
}

/**
 * A `getClient` function for mppx's Tempo methods that always talks to `rpcUrl` and refuses any
 * other chain id. Every RPC call times out after `timeoutMs` (default: RPC_TIMEOUT_MS, else
 * 20 s), without retries, so a transaction the node never mines fails instead of hanging.
 */
export async function clientResolver(chainId, rpcUrl, timeoutMs = Number(process.env.RPC_TIMEOUT_MS || 20_000)) {
  const { createClient, http } = await load('viem')
  const chain = await localTempoChain(chainId, rpcUrl)
  const client = createClient({ chain, transport: http(rpcUrl, { timeout: timeoutMs, retryCount: 0 }) })
  return ({ chainId: wanted } = {}) => {
    if (wanted !== undefined && wanted !== chainId)
      throw new Error(`no client for chain ${wanted}; this fixture is configured for chain ${chainId}`)
    return client
  }
}

/** Decodes a base64url (no padding) JSON value, or returns undefined. */
export function decodeBase64UrlJson(value) {
  if (!value) return undefined
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}
