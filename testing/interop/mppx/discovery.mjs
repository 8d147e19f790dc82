#!/usr/bin/env node
// Checks a discovery document (`GET /openapi.json`) with the official TypeScript SDK's validator
// (`validate` from `mppx/discovery`) and against discovery.schema.json (with ajv, JSON Schema
// 2020-12), and lists its paid operations. Interop tests point it at a Rust server.
//
// Usage: node discovery.mjs URL     (the document's URL; argv[2] wins over the URL variable)
//
// Environment:
//   URL               the document's URL (required unless given as argv[2])
//   MPP_NODE_MODULES  where mppx and ajv are installed (default <workspace>/.tools/node_modules)
//
// Stdout: exactly one JSON line
//   {"ok":true,"status":200,"contentType":"application/json","cacheControl":"max-age=300",
//    "errors":[...],"warnings":[...],"schemaErrors":[...],
//    "operations":[{"method":"get","path":"/paid","offers":[{...}]}]}
// `errors` and `warnings` are the mppx validator's findings, `schemaErrors` the schema's;
// `operations` lists the operations with x-payment-info, offers in the shorthand form expanded.
// Exit status: 0 when the document was fetched (200) and neither check found an error, else 1;
// 2 on bad configuration. Logs go to stderr.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { fail, installedVersion, load, log, nodeModules, requireEnv, setLogPrefix } from './lib.mjs'

setLogPrefix('mppx-discovery')

const url = process.argv[2] ?? requireEnv('URL')
const here = dirname(fileURLToPath(import.meta.url))

const { validate } = await load('mppx/discovery')
// ajv is a CommonJS package without an exports map: require it from the same folder.
const require = createRequire(join(nodeModules, 'package.json'))
let Ajv2020
try {
  Ajv2020 = require('ajv/dist/2020').default
} catch {
  fail(`ajv is not installed in ${nodeModules}; run scripts/setup`, 2)
}
const schema = JSON.parse(readFileSync(join(here, 'discovery.schema.json'), 'utf8'))
const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false })
ajv.addSchema(schema, 'discovery')
const checkDocument = ajv.getSchema('discovery')
const checkPaymentInfo = ajv.compile({ $ref: 'discovery#/$defs/paymentInfo' })

const response = await fetch(url)
const text = await response.text()
let document
try {
  document = JSON.parse(text)
} catch {
  document = undefined
}

const findings = document === undefined ? [{ message: 'not JSON', path: '(root)', severity: 'error' }] : validate(document)
const errors = findings.filter((f) => f.severity === 'error')
const warnings = findings.filter((f) => f.severity === 'warning')

const schemaErrors = []
const describe = (where, list) =>
  (list ?? []).map((e) => `${where}${e.instancePath} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
const operations = []
if (document !== undefined) {
  if (!checkDocument(document)) schemaErrors.push(...describe('', checkDocument.errors))
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {})) {
      const info = operation?.['x-payment-info']
      if (info === undefined) continue
      const where = `paths.${path}.${method}.x-payment-info`
      if (!checkPaymentInfo(info)) schemaErrors.push(...describe(where, checkPaymentInfo.errors))
      if (!operation.responses || !('402' in operation.responses))
        schemaErrors.push(`paths.${path}.${method}: a payable operation declares no 402 response`)
      operations.push({ method, path, offers: info.offers ?? [info] })
    }
  }
}

const ok = response.status === 200 && errors.length === 0 && schemaErrors.length === 0
log(`mppx ${installedVersion('mppx')}, ajv ${installedVersion('ajv')}: ${url} -> ${response.status}, ${errors.length} error(s), ${warnings.length} warning(s), ${schemaErrors.length} schema error(s)`)
process.stdout.write(
  JSON.stringify({
    ok,
    status: response.status,
    contentType: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
    errors,
    warnings,
    schemaErrors,
    operations,
  }) + '\n',
)
process.exit(ok ? 0 : 1)
