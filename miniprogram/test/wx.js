// The `wx` object the pages see under test. Its network calls (request, uploadFile,
// downloadFile) go over HTTP to the real yunyin server the Rust test started. Its device calls
// ask "the phone": login codes, payments and subscription choices are answered by the Rust
// test's scripted WeChat client (YUNYIN_DEVICE_URL), which talks to the fake WeChat and WeChat
// Pay servers the way WeChat's app would; the scanner and file pickers return what the test
// scripted (`script`). Navigation and UI calls are recorded for the test to read.
const http = require('node:http')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

// `modals`: the user's answers to wx.showModal in turn ({ confirm, content }; none left: OK with
// the content as shown); `sheets`: the item tapped in each wx.showActionSheet (none left: cancel).
const script = { scans: [], files: [], media: [], subscribe: 'accept', cancelPayment: false, modals: [], sheets: [] }
// `modals`: each dialog's title (or its text); `dialogs`: what each showed ({ title, content,
// editable }); `opened`: files shown by WeChat's viewers; `sheets`: the action sheets' items;
// `clipboard`: what was copied.
const record = { nav: [], toasts: [], modals: [], dialogs: [], payments: [], subscriptions: [], requests: [], opened: [], sheets: [], clipboard: [] }
const storage = new Map()

function exchange(method, target, headers, body) {
  return new Promise((resolve, reject) => {
    const u = new URL(target)
    const req = http.request(
      { method, hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      },
    )
    req.on('error', reject)
    if (body) req.write(body)
    req.end()
  })
}

async function device(route, payload) {
  const body = Buffer.from(JSON.stringify(payload ?? {}))
  const r = await exchange('POST', `${process.env.YUNYIN_DEVICE_URL}${route}`, {
    'content-type': 'application/json', 'content-length': body.length,
  }, body)
  const answer = r.body.length ? JSON.parse(r.body.toString('utf8')) : {}
  if (r.status !== 200) throw new Error(answer.errMsg || `device ${route}: ${r.status}`)
  return answer
}

// Calls `fail`/`success`/`complete` as WeChat does, and answers with a promise when no callback
// was given (the base library's promise style).
function settle(options, work) {
  const p = Promise.resolve().then(work)
  p.then(
    (r) => { options?.success?.(r); options?.complete?.(r) },
    (e) => { const r = { errMsg: e.message || String(e) }; options?.fail?.(r); options?.complete?.(r) },
  )
  if (!options || (!options.success && !options.fail && !options.complete)) return p
  p.catch(() => {})
  return undefined
}

function headersOf(header) {
  const h = {}
  for (const [k, v] of Object.entries(header || {})) h[k.toLowerCase()] = v
  return h
}

let tempSeq = 0
function tempFile(ext) {
  tempSeq += 1
  return path.join(os.tmpdir(), `wxfile-${process.pid}-${Date.now()}-${tempSeq}${ext}`)
}

const wx = {
  // ---- network: the real server ----
  request(options) {
    return settle(options, async () => {
      const h = headersOf(options.header)
      let body
      if (options.data !== undefined && options.data !== null) {
        body = Buffer.from(typeof options.data === 'string' ? options.data : JSON.stringify(options.data))
        h['content-type'] ??= 'application/json'
        h['content-length'] = body.length
      }
      record.requests.push(`${options.method || 'GET'} ${new URL(options.url).pathname}`)
      const r = await exchange(options.method || 'GET', options.url, h, body)
      const text = r.body.toString('utf8')
      let data = text
      if ((options.dataType ?? 'json') === 'json') {
        try { data = JSON.parse(text) } catch { data = text }
      }
      return { statusCode: r.status, data, header: r.headers, errMsg: 'request:ok' }
    })
  },
  uploadFile(options) {
    const listeners = []
    settle(options, async () => {
      const boundary = `----wxupload${Date.now().toString(16)}`
      const file = fs.readFileSync(options.filePath)
      const parts = []
      for (const [k, v] of Object.entries(options.formData || {})) {
        parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`))
      }
      // WeChat names the part after the temporary file, not the file the user picked.
      parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${options.name}"; ` +
        `filename="${path.basename(options.filePath)}"\r\ncontent-type: application/octet-stream\r\n\r\n`))
      parts.push(file, Buffer.from(`\r\n--${boundary}--\r\n`))
      const body = Buffer.concat(parts)
      const h = { ...headersOf(options.header), 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length }
      listeners.forEach((l) => l({ progress: 50, totalBytesSent: body.length / 2, totalBytesExpectedToSend: body.length }))
      record.requests.push(`POST ${new URL(options.url).pathname}`)
      const r = await exchange('POST', options.url, h, body)
      listeners.forEach((l) => l({ progress: 100, totalBytesSent: body.length, totalBytesExpectedToSend: body.length }))
      return { statusCode: r.status, data: r.body.toString('utf8'), errMsg: 'uploadFile:ok' }
    })
    return { onProgressUpdate: (l) => listeners.push(l), abort() {} }
  },
  downloadFile(options) {
    return settle(options, async () => {
      record.requests.push(`GET ${new URL(options.url).pathname}`)
      const r = await exchange('GET', options.url, headersOf(options.header))
      const type = String(r.headers['content-type'] || '')
      const file = tempFile(type.includes('png') ? '.png' : type.includes('jpeg') ? '.jpg' : type.includes('pdf') ? '.pdf'
        : type.includes('json') ? '.json' : '')
      fs.writeFileSync(file, r.body)
      return { statusCode: r.status, tempFilePath: file, errMsg: 'downloadFile:ok' }
    })
  },

  // ---- the phone ----
  login(options) {
    return settle(options, async () => {
      const { code } = await device('/login', { app_id: wx.getAccountInfoSync().miniProgram.appId })
      return { code, errMsg: 'login:ok' }
    })
  },
  requestPayment(options) {
    return settle(options, async () => {
      const params = { timeStamp: options.timeStamp, nonceStr: options.nonceStr, package: options.package, signType: options.signType, paySign: options.paySign }
      record.payments.push(params)
      if (script.cancelPayment) throw new Error('requestPayment:fail cancel')
      await device('/pay', { ...params, appId: wx.getAccountInfoSync().miniProgram.appId })
      return { errMsg: 'requestPayment:ok' }
    })
  },
  requestSubscribeMessage(options) {
    return settle(options, async () => {
      record.subscriptions.push(options.tmplIds)
      const choices = {}
      for (const id of options.tmplIds) choices[id] = script.subscribe
      if (script.subscribe === 'accept') {
        await device('/subscribe', { app_id: wx.getAccountInfoSync().miniProgram.appId, template_ids: options.tmplIds })
      }
      return { ...choices, errMsg: 'requestSubscribeMessage:ok' }
    })
  },
  scanCode(options) {
    return settle(options, async () => {
      const result = script.scans.shift()
      if (result === undefined) throw new Error('scanCode:fail cancel')
      return { result, scanType: 'QR_CODE', charSet: 'utf-8', errMsg: 'scanCode:ok' }
    })
  },
  chooseMessageFile(options) {
    return settle(options, async () => {
      const files = script.files.splice(0, options.count || 1)
      if (!files.length) throw new Error('chooseMessageFile:fail cancel')
      return { tempFiles: files.map((f) => ({ ...copyToTemp(f.path), name: f.name ?? path.basename(f.path), type: 'file', time: Date.now() })), errMsg: 'chooseMessageFile:ok' }
    })
  },
  chooseMedia(options) {
    return settle(options, async () => {
      const files = script.media.splice(0, options.count || 1)
      if (!files.length) throw new Error('chooseMedia:fail cancel')
      return { tempFiles: files.map((f) => ({ tempFilePath: copyToTemp(f).path, size: fs.statSync(f).size, fileType: 'image' })), type: 'image', errMsg: 'chooseMedia:ok' }
    })
  },
  getAccountInfoSync: () => ({ miniProgram: { appId: process.env.YUNYIN_MP_APP_ID, envVersion: 'develop', version: '' } }),
  getAppBaseInfo: () => ({ language: script.language ?? 'zh_CN', SDKVersion: '3.0.0' }),
  getSystemInfoSync: () => ({ language: script.language ?? 'zh_CN', platform: 'devtools', SDKVersion: '3.0.0', windowWidth: 375, windowHeight: 667, pixelRatio: 2, statusBarHeight: 20 }),
  getWindowInfo: () => ({ windowWidth: 375, windowHeight: 667, pixelRatio: 2, statusBarHeight: 20, screenWidth: 375, screenHeight: 667 }),

  // ---- storage ----
  getStorageSync: (k) => (storage.has(k) ? JSON.parse(storage.get(k)) : ''),
  setStorageSync: (k, v) => { storage.set(k, JSON.stringify(v)) },
  removeStorageSync: (k) => { storage.delete(k) },
  clearStorageSync: () => storage.clear(),

  // ---- navigation and UI: recorded ----
  navigateTo: (o) => { record.nav.push({ kind: 'navigateTo', url: o.url }); o.success?.({}) },
  redirectTo: (o) => { record.nav.push({ kind: 'redirectTo', url: o.url }); o.success?.({}) },
  switchTab: (o) => { record.nav.push({ kind: 'switchTab', url: o.url }); o.success?.({}) },
  reLaunch: (o) => { record.nav.push({ kind: 'reLaunch', url: o.url }); o.success?.({}) },
  navigateBack: (o) => { record.nav.push({ kind: 'navigateBack', url: '' }); o?.success?.({}) },
  showToast: (o) => { record.toasts.push(o.title); o.success?.({}) },
  showLoading: (o) => { o?.success?.({}) },
  hideLoading: (o) => { o?.success?.({}) },
  showModal: (o) => settle(o, async () => {
    record.modals.push(o.title || o.content)
    record.dialogs.push({ title: o.title, content: o.content, editable: Boolean(o.editable) })
    const answer = script.modals.shift() ?? { confirm: true }
    const content = o.editable ? (answer.content ?? o.content ?? '') : undefined
    return { confirm: answer.confirm, cancel: !answer.confirm, ...(o.editable ? { content } : {}), errMsg: 'showModal:ok' }
  }),
  showActionSheet: (o) => settle(o, async () => {
    record.sheets.push(o.itemList)
    const tapIndex = script.sheets.shift()
    if (tapIndex === undefined) throw new Error('showActionSheet:fail cancel')
    return { tapIndex, errMsg: 'showActionSheet:ok' }
  }),
  setClipboardData: (o) => settle(o, async () => { record.clipboard.push(o.data); return { errMsg: 'setClipboardData:ok' } }),
  getClipboardData: (o) => settle(o, async () => ({ data: record.clipboard[record.clipboard.length - 1] ?? '', errMsg: 'getClipboardData:ok' })),
  setNavigationBarTitle: (o) => { o?.success?.({}) },
  setTabBarItem: (o) => { o?.success?.({}) },
  stopPullDownRefresh: () => {},
  vibrateShort: () => {},
  previewImage: (o) => settle(o, async () => {
    record.opened.push({ kind: 'image', filePath: o.current || o.urls[0], urls: o.urls })
    return { errMsg: 'previewImage:ok' }
  }),
  openDocument: (o) => settle(o, async () => {
    record.opened.push({ kind: 'document', filePath: o.filePath, fileType: o.fileType })
    return { errMsg: 'openDocument:ok' }
  }),
  shareFileMessage: (o) => settle(o, async () => {
    record.opened.push({ kind: 'chat', filePath: o.filePath, fileName: o.fileName })
    return { errMsg: 'shareFileMessage:ok' }
  }),
  getFileSystemManager: () => ({
    readFileSync: (file, encoding) => fs.readFileSync(file, encoding),
  }),
}

function copyToTemp(from) {
  const to = tempFile(path.extname(from))
  fs.copyFileSync(from, to)
  return { path: to, size: fs.statSync(to).size }
}

module.exports = { wx, script, record, device, exchange }
