#!/usr/bin/env node
// A paid MCP server built with the official SDKs: `@modelcontextprotocol/sdk`'s McpServer over
// its streamable HTTP transport, charging through mppx's `mcp-sdk` server transport
// (`Transport.mcpSdk()`) with the Tempo `charge` intent. Interop tests point a Rust MCP client
// at it.
//
// Tools:
//   echo   {text}  paid AMOUNT per call; answers its text, with the receipt in result._meta
//   ping   {}      free; answers "pong"
// The McpServer answers a refused credential (mppx throws -32043/-32602) as an `isError` tool
// result whose text is "MCP error <code>: <message>"; only -32042 travels as a JSON-RPC error.
//
// Routes (HTTP/1.1 on 127.0.0.1, port chosen by the OS unless PORT is set):
//   POST /mcp   the MCP endpoint (stateless: a fresh McpServer per request, JSON responses)
//   GET  /runs  {"echo": <runs>, "ping": <runs>}: how often each tool's body ran
//   anything else 404
//
// Environment:
//   RPC_URL, CHAIN_ID, SECRET_KEY, RECIPIENT, CURRENCY, AMOUNT   as for server.mjs (required)
//   REALM       challenge realm (default mcp.mppx.test: an MCP request has no host to take it from)
//   PORT        port to listen on (default 0 = any free port)
//   RPC_TIMEOUT_MS, MPP_NODE_MODULES   as for server.mjs
//
// Stdout: exactly one line, `LISTENING http://127.0.0.1:<port>/mcp`, once the socket is bound.
// Stderr: one log line per tool call. Runs until SIGTERM/SIGINT. Exits 2 on bad configuration.

import * as http from 'node:http'
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

setLogPrefix('mppx-mcp-server')

const rpcUrl = requireEnv('RPC_URL')
const chainId = parseChainId(requireEnv('CHAIN_ID'))
const secretKey = requireEnv('SECRET_KEY')
const recipient = requireEnv('RECIPIENT')
const currency = requireEnv('CURRENCY')
const amount = requireEnv('AMOUNT')
const realm = optionalEnv('REALM') ?? 'mcp.mppx.test'
const port = Number(optionalEnv('PORT') ?? '0')
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad PORT ${port}`, 2)

const { McpServer } = await load('@modelcontextprotocol/sdk/server/mcp.js')
const { StreamableHTTPServerTransport } = await load('@modelcontextprotocol/sdk/server/streamableHttp.js')
const z = await load('zod')
const { Mppx, Transport, tempo } = await load('mppx/server')
const getClient = await clientResolver(chainId, rpcUrl)

let payment
try {
  payment = Mppx.create({
    realm,
    secretKey,
    transport: Transport.mcpSdk(),
    methods: [tempo.charge({ chainId, currency, recipient, getClient })],
  })
} catch (error) {
  fail(`cannot configure mppx: ${error?.stack ?? error}`)
}
log(
  `mppx ${installedVersion('mppx')}, @modelcontextprotocol/sdk ${installedVersion('@modelcontextprotocol/sdk')};`,
  `chain ${chainId} at ${rpcUrl}; echo costs ${amount} of ${currency} to ${recipient}; realm ${realm}`,
)

const runs = { echo: 0, ping: 0 }

/** One McpServer with the two tools (the stateless transport wants one per request). */
function buildServer() {
  const server = new McpServer({ name: 'mppx-mcp-fixture', version: '1.0.0' })
  server.registerTool(
    'echo',
    { description: 'Echoes its text (paid)', inputSchema: { text: z.string() } },
    async ({ text }, extra) => {
      const paid = Boolean(extra._meta?.['org.paymentauth/credential'])
      // The scope binds the challenge to this tool.
      const result = await payment.charge({ amount, scope: 'tools/call echo' })(extra)
      if (result.status === 402) {
        log(`echo ${paid ? 'with' : 'without'} credential -> ${result.challenge.code} ${result.challenge.message}`)
        throw result.challenge
      }
      runs.echo += 1
      const response = result.withReceipt({ content: [{ type: 'text', text }] })
      log(`echo with credential -> paid, receipt ${JSON.stringify(response._meta?.['org.paymentauth/receipt'])}`)
      return response
    },
  )
  server.registerTool('ping', { description: 'Answers pong (free)' }, async () => {
    runs.ping += 1
    return { content: [{ type: 'text', text: 'pong' }] }
  })
  return server
}

const httpServer = http.createServer(async (req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname
  try {
    if (path === '/runs') {
      res.setHeader('Content-Type', 'application/json')
      return res.end(JSON.stringify(runs))
    }
    if (path !== '/mcp') {
      res.statusCode = 404
      return res.end()
    }
    const server = buildServer()
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    })
    res.on('close', () => {
      transport.close()
      server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(req, res)
  } catch (error) {
    log(`${req.method} ${path} -> 500: ${error?.stack ?? error}`)
    if (!res.headersSent) res.statusCode = 500
    res.end()
  }
})

httpServer.on('error', (error) => fail(`server error: ${error.message}`))
httpServer.listen(port, '127.0.0.1', () => {
  const { port: bound } = httpServer.address()
  process.stdout.write(`LISTENING http://127.0.0.1:${bound}/mcp\n`)
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    log(`${signal}: shutting down`)
    httpServer.close()
    httpServer.closeAllConnections?.()
    process.exit(0)
  })
}
