#!/usr/bin/env bash
# Pays one URL with the official `mppx` command-line client (npm package mppx, installed by
# scripts/setup), signing with a private key against a given Tempo node.
#
# Usage: cli.sh [URL]        (argv[1] wins over the URL variable)
#
# Environment:
#   URL          the resource to GET (required unless given as $1)
#   RPC_URL      Tempo JSON-RPC endpoint (required). The CLI asks the node for its chain id and
#                only knows 4217, 42431, 31318 and 1337, so a local anvil must run with
#                `--chain-id 1337`.
#   PRIVATE_KEY  payer key, 0x-prefixed hex (required); passed to the CLI as MPPX_PRIVATE_KEY.
#                The CLI signs pull-mode credentials (it has no push option).
#   MPP_NODE_MODULES  where mppx is installed (default <workspace>/.tools/node_modules)
#
# What it runs (the documented invocation, from this directory):
#   NO_UPDATE_NOTIFIER=1 MPPX_PRIVATE_KEY=$PRIVATE_KEY \
#     node <node_modules>/mppx/dist/bin.js "$URL" --rpc-url "$RPC_URL" --include
# NO_UPDATE_NOTIFIER stops the CLI from asking the npm registry for a newer version.
#
# Stdout: one JSON line {"status":200,"receipt":{...}|null,"body":<JSON or text>,
#   "challenge":"<WWW-Authenticate of the 402>"|null,"exitCode":<CLI exit status>}
# parsed from the CLI's --include output, which goes to stderr together with its own messages.
# Exit status: 0 when the CLI succeeded with a 2xx and a Payment-Receipt, else the CLI's status
# (or 1); 2 on bad configuration.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
node_modules="${MPP_NODE_MODULES:-$here/../../../.tools/node_modules}"
bin="$node_modules/mppx/dist/bin.js"

url="${1:-${URL:-}}"
for name in RPC_URL PRIVATE_KEY; do
  if [ -z "${!name:-}" ]; then
    echo "mppx-cli: error: missing environment variable $name" >&2
    exit 2
  fi
done
if [ -z "$url" ]; then
  echo "mppx-cli: error: missing URL (argument or environment variable)" >&2
  exit 2
fi
if [ ! -f "$bin" ]; then
  echo "mppx-cli: error: mppx is not installed in $node_modules; run scripts/setup" >&2
  exit 2
fi

output="$(cd "$here" && NO_UPDATE_NOTIFIER=1 MPPX_PRIVATE_KEY="$PRIVATE_KEY" \
  node "$bin" "$url" --rpc-url "$RPC_URL" --include </dev/null)"
code=$?
printf '%s\n' "$output" | sed 's/^/mppx-cli: /' >&2

# The --include output is curl-like: one "HTTP/1.1 <status>" block of headers per response
# (the 402, then the paid retry), a blank line, then the final body.
CLI_OUTPUT="$output" CLI_CODE="$code" node --input-type=module -e '
const text = process.env.CLI_OUTPUT ?? ""
const code = Number(process.env.CLI_CODE)
const lines = text.split(/\r?\n/)
let status = null, receipt = null, challenge = null, bodyStart = lines.length
for (let i = 0; i < lines.length; i++) {
  const statusLine = /^HTTP\/[0-9.]+ ([0-9]{3})/.exec(lines[i])
  if (!statusLine) continue
  status = Number(statusLine[1])
  receipt = null
  let j = i + 1
  for (; j < lines.length && lines[j] !== ""; j++) {
    const colon = lines[j].indexOf(":")
    if (colon < 0) continue
    const name = lines[j].slice(0, colon).trim().toLowerCase()
    const value = lines[j].slice(colon + 1).trim()
    if (name === "payment-receipt") receipt = value
    if (name === "www-authenticate" && status === 402) challenge = value
  }
  bodyStart = j + 1
  i = j
}
const bodyText = lines.slice(bodyStart).join("\n").trim()
let body = bodyText || null
try { body = JSON.parse(bodyText) } catch {}
if (receipt) {
  try { receipt = JSON.parse(Buffer.from(receipt, "base64url").toString("utf8")) } catch {}
}
process.stdout.write(JSON.stringify({ status, receipt, body, challenge, exitCode: code }) + "\n")
const ok = code === 0 && status !== null && status >= 200 && status < 300 && receipt
process.exit(ok ? 0 : code || 1)
'
