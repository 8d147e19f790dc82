#!/usr/bin/env node
// Calls one MCP tool with the official SDKs: `@modelcontextprotocol/sdk`'s Client, made to pay
// by mppx's `mcp-sdk` client (`McpClient.wrap`) with the Tempo `charge` intent and a local key.
// Interop tests point it at a Rust MCP server.
//
// Usage: node mcp-client.mjs [TARGET]
//   TARGET  an http(s) URL: the streamable HTTP transport to that endpoint; anything else (or
//           nothing): the stdio transport, spawning SERVER_COMMAND.
//
// Environment:
//   RPC_URL, CHAIN_ID, PRIVATE_KEY, MODE, CLIENT_ID   as for client.mjs (RPC_URL, CHAIN_ID and
//                PRIVATE_KEY required)
//   TOOL         the tool to call (default echo)
//   ARGS         its arguments, a JSON object (default {"text":"hello"})
//   SERVER_COMMAND  stdio only: the server to spawn, a JSON array [program, ...args]
//   SERVER_ENV   stdio only: extra environment for it, a JSON object of strings
//   RPC_TIMEOUT_MS, MPP_NODE_MODULES   as for client.mjs
//
// Stdout: exactly one JSON line
//   {"result":{...tool result...}|null,"receipt":{...}|null,"credential":{...}|null,
//    "capabilities":{...},"tools":[...],"payer":"0x...","error":"..."?}
// `receipt` is what mppx hands back (result._meta["org.paymentauth/receipt"]), `credential` the
// `_meta` credential the paying call carried. Exit status: 0 when the call returned a result that
// is not an error, 1 otherwise (the line is still printed), 2 on bad configuration. Logs (and a
// stdio server's stderr) go to stderr.

import {
  clientResolver,
  fail,
  installedVersion,
  load,
  log,
  optionalEnv,
  parseChainId,
  requireEnv,
  setLogPrefix,
} from './lib.mjs'

setLogPrefix('mppx-mcp-client')

const target = process.argv[2] ?? ''
const rpcUrl = requireEnv('RPC_URL')
const chainId = parseChainId(requireEnv('CHAIN_ID'))
const privateKey = requireEnv('PRIVATE_KEY')
const mode = optionalEnv('MODE')
const clientId = optionalEnv('CLIENT_ID')
const tool = optionalEnv('TOOL') ?? 'echo'
let args
try {
  args = JSON.parse(optionalEnv('ARGS') ?? '{"text":"hello"}')
} catch (error) {
  fail(`ARGS is not JSON: ${error.message}`, 2)
}

const { Client } = await load('@modelcontextprotocol/sdk/client/index.js')
const { McpClient } = await load('mppx/mcp-sdk/client')
const { tempo } = await load('mppx/client')
const { privateKeyToAccount } = await load('viem/accounts')
const account = privateKeyToAccount(privateKey)
const getClient = await clientResolver(chainId, rpcUrl)

let transport
if (/^https?:\/\//.test(target)) {
  const { StreamableHTTPClientTransport } = await load('@modelcontextprotocol/sdk/client/streamableHttp.js')
  transport = new StreamableHTTPClientTransport(new URL(target))
} else {
  const { StdioClientTransport, getDefaultEnvironment } = await load('@modelcontextprotocol/sdk/client/stdio.js')
  let command
  let env
  try {
    command = JSON.parse(requireEnv('SERVER_COMMAND'))
    env = JSON.parse(optionalEnv('SERVER_ENV') ?? '{}')
  } catch (error) {
    fail(`SERVER_COMMAND and SERVER_ENV must be JSON: ${error.message}`, 2)
  }
  if (!Array.isArray(command) || command.length === 0) fail('SERVER_COMMAND must be [program, ...args]', 2)
  transport = new StdioClientTransport({
    command: command[0],
    args: command.slice(1),
    env: { ...getDefaultEnvironment(), ...env },
    stderr: 'inherit',
  })
}

const client = new Client({ name: 'mppx-mcp-client-fixture', version: '1.0.0' })

// Records the credential the paying call carries (McpClient.wrap calls the original callTool).
let credential = null
const originalCallTool = client.callTool.bind(client)
client.callTool = (params, ...rest) => {
  const sent = params?._meta?.['org.paymentauth/credential']
  if (sent) credential = sent
  return originalCallTool(params, ...rest)
}

McpClient.wrap(client, {
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

log(`mppx ${installedVersion('mppx')}; payer ${account.address}; ${tool} on ${target || 'stdio'}`)

const output = { result: null, receipt: null, credential: null, capabilities: null, tools: null, payer: account.address }
let ok = false
try {
  await client.connect(transport)
  output.capabilities = client.getServerCapabilities() ?? null
  output.tools = (await client.listTools()).tools
  const result = await client.callTool({ name: tool, arguments: args })
  const { receipt, ...rest } = result
  output.result = rest
  output.receipt = receipt ?? null
  ok = result.isError !== true
} catch (error) {
  log(`call failed: ${error?.stack ?? error}`)
  output.error = String(error?.message ?? error)
}
output.credential = credential
process.stdout.write(`${JSON.stringify(output)}\n`)
await client.close().catch(() => {})
process.exit(ok ? 0 : 1)
