// After `vite build`: writes Brotli (.br) and gzip (.gz) copies beside each compressible file in
// dist/, so the server sends them as they are to browsers that accept them, without
// compressing on every request. A copy not smaller than the file is not written.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|webmanifest|txt)$/
const MIN_BYTES = 1024

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) yield* files(path)
    else if (COMPRESSIBLE.test(name)) yield path
  }
}

let count = 0
for (const path of files(new URL('../dist', import.meta.url).pathname)) {
  if (path.includes('/.vite/')) continue // the build manifest, for tools, not served
  const raw = readFileSync(path)
  if (raw.length < MIN_BYTES) continue
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  })
  const gz = gzipSync(raw, { level: 9 })
  if (br.length < raw.length) writeFileSync(`${path}.br`, br)
  if (gz.length < raw.length) writeFileSync(`${path}.gz`, gz)
  count++
}
console.log(`compressed copies written for ${count} files`)
