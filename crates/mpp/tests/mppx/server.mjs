// An mppx (official TypeScript SDK) server charging with Tempo on a local chain, for the
// interoperability test in ../tempo_mppx.rs. Arguments: rpcUrl recipient amount [feePayerKey].
// Prints `LISTENING <port>` once it accepts connections on 127.0.0.1.
import http from 'node:http'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const modules = join(process.env.MPP_TOOLS_DIR, 'node_modules')
const load = (path) => import(pathToFileURL(join(modules, path)).href)
const { Mppx, tempo } = await load('mppx/dist/server/index.js')
const { createClient, http: transport } = await load('viem/_esm/index.js')
const { tempoLocalnet } = await load('viem/_esm/chains/index.js')
const { privateKeyToAccount } = await load('viem/_esm/accounts/index.js')

const [rpcUrl, recipient, amount, feePayerKey] = process.argv.slice(2)
const client = createClient({ chain: tempoLocalnet, transport: transport(rpcUrl) })
const mppx = Mppx.create({
  methods: [
    tempo.charge({
      currency: '0x20c0000000000000000000000000000000000000',
      recipient,
      getClient: () => client,
      ...(feePayerKey ? { feePayer: privateKeyToAccount(feePayerKey) } : {}),
    }),
  ],
  realm: '127.0.0.1',
  secretKey: 'mppx-interop-test-secret-0123456789abcdef',
})

const server = http.createServer(async (req, res) => {
  try {
    const result = await Mppx.toNodeListener(mppx.charge({ amount }))(req, res)
    if (result.status === 402) return
    res.end('paid')
  } catch (error) {
    console.error(error)
    res.statusCode = 500
    res.end(String(error))
  }
})
server.listen(0, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`))
