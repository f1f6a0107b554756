// Builds what WeChat DevTools opens and uploads: dist/ (the project's miniprogramRoot).
//   1. TypeScript → CommonJS (tsc), the pages' wxml / wxss / json copied beside it;
//   2. the AppID and API base from yunyin.json (or YUNYIN_MP_APP_ID / YUNYIN_MP_API_BASE) into
//      dist/config.js and project.config.json;
//   3. only the Vant Weapp components the pages use (and theirs), from its CommonJS build,
//      into dist/miniprogram_npm/@vant/weapp — the whole library would eat the 2 MB budget.
// Prints the main package's size against WeChat's 2 MB limit.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const src = path.join(root, 'src')
const dist = path.join(root, 'dist')
const vantLib = path.join(root, 'node_modules/@vant/weapp/lib')
const VANT = '/miniprogram_npm/@vant/weapp/'
const LIMIT = 2 * 1024 * 1024

fs.rmSync(dist, { recursive: true, force: true })
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root], { stdio: 'inherit' })

const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
  const p = path.join(dir, e.name)
  return e.isDirectory() ? walk(p) : [p]
})

for (const file of walk(src)) {
  if (file.endsWith('.ts')) continue
  const to = path.join(dist, path.relative(src, file))
  fs.mkdirSync(path.dirname(to), { recursive: true })
  fs.copyFileSync(file, to)
}

// 2. Settings.
const settings = JSON.parse(fs.readFileSync(path.join(root, 'yunyin.json'), 'utf8'))
const appId = process.env.YUNYIN_MP_APP_ID || settings.appId
const apiBase = (process.env.YUNYIN_MP_API_BASE || settings.apiBase).replace(/\/+$/, '')
const configJs = path.join(dist, 'config.js')
fs.writeFileSync(configJs, fs.readFileSync(configJs, 'utf8')
  .replace('__APP_ID__', appId).replace('__API_BASE__', apiBase))
const projectFile = path.join(root, 'project.config.json')
const project = JSON.parse(fs.readFileSync(projectFile, 'utf8'))
if (project.appid !== appId) {
  project.appid = appId
  fs.writeFileSync(projectFile, JSON.stringify(project, null, 2) + '\n')
}

// 3. Vant Weapp: the components named in usingComponents, and what they use in turn.
const wanted = new Set()
const want = (name) => {
  if (wanted.has(name)) return
  wanted.add(name)
  const json = JSON.parse(fs.readFileSync(path.join(vantLib, name, 'index.json'), 'utf8'))
  for (const using of Object.values(json.usingComponents ?? {})) want(path.basename(path.dirname(using)))
}
for (const file of walk(dist).filter((f) => f.endsWith('.json'))) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'))
  for (const using of Object.values(json.usingComponents ?? {})) {
    if (!using.startsWith(VANT)) continue
    want(using.slice(VANT.length).split('/')[0])
  }
}
// Shared code every component requires (behaviours, helpers, wxs filters).
for (const shared of ['common', 'mixins', 'wxs', 'definitions']) {
  if (fs.existsSync(path.join(vantLib, shared))) wanted.add(shared)
}
for (const name of wanted) {
  fs.cpSync(path.join(vantLib, name), path.join(dist, VANT, name), { recursive: true })
}

const size = walk(dist).reduce((n, f) => n + fs.statSync(f).size, 0)
const vant = walk(path.join(dist, VANT)).reduce((n, f) => n + fs.statSync(f).size, 0)
// The baseline, measured in the same run: the package had it shipped all of Vant Weapp.
const wholeVant = walk(vantLib).reduce((n, f) => n + fs.statSync(f).size, 0)
const baseline = size - vant + wholeVant
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
console.log(`main package: ${size} bytes (${kib(size)}; Vant Weapp ${kib(vant)}), ` +
  `${((size / LIMIT) * 100).toFixed(1)}% of WeChat's 2 MB limit; with all of Vant Weapp it would be ` +
  `${kib(baseline)} (${((baseline / LIMIT) * 100).toFixed(1)}% of the limit, ${(baseline / size).toFixed(2)}× this one)`)
if (size > LIMIT) {
  console.error('the main package is over WeChat\'s 2 MB limit')
  process.exit(1)
}
