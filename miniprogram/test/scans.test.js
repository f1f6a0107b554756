// Scan records (扫描记录), reached from the me tab: the list with thumbnails, names, times and
// pages; an unpaid scan (the wallet could not cover the scan rate) opens nothing until paid, and
// paying short of money offers the wallet; paid, a PDF opens in WeChat's document viewer and an
// image in its image viewer; rename, share (a link for the hours chosen, copied; then stopped),
// print this (a job on the documents tab) and delete (asked first) — each checked at the server.
const fs = require('node:fs')
const path = require('node:path')
const { explained, fetchPublic, gatewayScan, press, signUp, world, page, until, lastNav, text, el, script, record } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))
const { yuan } = require(path.join(dist, 'lib/i18n.js'))
const { when } = require(path.join(dist, 'pages/common.js'))

const scan = (id) => call('get', '/api/v1/scans/{id}', { path: { id } })
const wallet = () => call('get', '/api/v1/wallet', { query: { limit: 50 } })
const rowOf = (comp, id) => comp.data.scans.find((s) => s.id === id)

const comps = []
const show = (c) => (comps.push(c), c)
afterAll(() => {
  for (const c of comps) {
    c.instance.onHide?.()
    c.detach()
  }
})

let pdf
let png
let comp

test('the me tab leads to the scan records, which say how to scan while there are none', explained(async () => {
  await signUp('记录君')
  const me = show(page('me'))
  me.instance.onShow()
  await until(() => text(me).includes('扫描记录'), 20000, 'the me tab')
  record.nav.length = 0
  el(me, '#scans').querySelector('.van-cell').dispatchEvent('tap')
  expect(await until(() => lastNav(), 5000, 'a navigation')).toEqual({ kind: 'navigateTo', url: '/pages/scans/scans' })

  const empty = show(page('scans'))
  empty.instance.onShow()
  await until(() => empty.querySelector('#no-scans'), 20000, 'the empty list')
  expect(text(empty)).toContain('还没有扫描记录')
  expect(text(empty)).toContain('在打印点扫描二维码，选择“扫描”，然后在设备上扫描文件')
  record.nav.length = 0
  await press(empty, '#to-scan')
  expect(lastNav()).toEqual({ kind: 'switchTab', url: '/pages/scan/scan' })
}))

test('scans listed; unpaid ones are paid from the wallet, offering a top-up when it is short', explained(async () => {
  // A session at the device, two scans from the MFP (a 2-page PDF, a photo), the session ended.
  const s = await call('post', '/api/v1/scan-sessions', { body: { print_point_code: world.print_point_code } })
  try {
    pdf = await gatewayScan('report.pdf', 'SCAN0010.PDF')
    png = await gatewayScan('photo.png', 'IMG_0001.PNG')
  } finally {
    await call('delete', '/api/v1/scan-sessions/{id}', { path: { id: s.id } })
  }
  const rate = world.scan_fen_per_page
  expect(pdf).toMatchObject({ name: 'SCAN0010.pdf', format: 'pdf', pages: 2, price_fen: 2 * rate, charge: 'unpaid' })
  expect(png).toMatchObject({ name: 'IMG_0001.png', format: 'png', pages: 1, price_fen: rate, charge: 'unpaid' })

  comp = show(page('scans'))
  comp.instance.onShow()
  await until(() => comp.data.scans.length === 2, 20000, 'the list')
  // Newest first, each with its time, pages, price, state and the way to pay.
  expect(comp.data.scans.map((r) => r.id)).toEqual([png.id, pdf.id])
  const row = text(el(comp, `#scan-${pdf.id}`))
  expect(row).toContain('SCAN0010.pdf')
  expect(row).toContain(when(pdf.scanned_at))
  expect(row).toContain('2 页')
  expect(row).toContain(yuan(2 * rate))
  expect(row).toContain('待支付')
  expect(row).toContain('支付后即可查看、打印和分享')
  expect(text(el(comp, `#pay-${pdf.id}`))).toBe(`支付 ${yuan(2 * rate)}`)
  // Unpaid: nothing to view, print or share yet.
  expect(comp.querySelector(`#view-${pdf.id}`)).toBeFalsy()
  expect(comp.querySelector(`#share-${pdf.id}`)).toBeFalsy()
  await until(() => comp.data.thumbs[pdf.id] && comp.data.thumbs[png.id], 20000, 'the thumbnails')
  expect(record.requests).toContain(`GET /api/v1/scans/${pdf.id}/thumbnail`)
  // Tapping it says to pay first, and downloads nothing.
  el(comp, `#scan-${pdf.id}`).dispatchEvent('tap')
  await until(() => record.toasts.includes('支付后即可查看、打印和分享'), 5000, 'the hint')
  expect(record.requests).not.toContain(`GET /api/v1/scans/${pdf.id}/file`)

  // The wallet is empty: paying offers the wallet, and the scan stays unpaid.
  expect((await wallet()).balance_fen).toBe(0)
  record.modals.length = 0
  record.nav.length = 0
  await press(comp, `#pay-${pdf.id}`)
  const nav = await until(() => lastNav(), 20000, 'the wallet offered')
  expect(nav).toEqual({ kind: 'switchTab', url: '/pages/wallet/wallet' })
  // The question is the server's answer, in the user's language.
  const short = await call('post', '/api/v1/scans/{id}/pay', { path: { id: pdf.id } }).then(() => undefined, (e) => e)
  expect(short).toMatchObject({ code: 'insufficient_balance' })
  expect(record.modals).toEqual([short.message])
  expect((await scan(pdf.id)).charge).toBe('unpaid')

  // Topped up ¥10 with WeChat Pay on the wallet tab, then paid: charged at the scan rate.
  const pocket = show(page('wallet'))
  pocket.instance.onShow()
  await until(() => text(el(pocket, '#balance')) === '¥0.00', 20000, 'the balance')
  await press(pocket, '#top-up-10')
  await until(() => text(el(pocket, '#balance')) === '¥10.00', 45000, 'the top-up')
  comp.instance.onShow()
  await press(comp, `#pay-${pdf.id}`)
  await until(() => rowOf(comp, pdf.id)?.charge === 'paid', 20000, 'paid on the page')
  expect(text(el(comp, `#scan-${pdf.id}`))).toContain('已扣费')
  await press(comp, `#pay-${png.id}`)
  await until(() => rowOf(comp, png.id)?.charge === 'paid', 20000, 'the photo paid')
  expect((await scan(pdf.id)).charge).toBe('paid')
  expect((await scan(png.id)).charge).toBe('paid')
  const w = await wallet()
  expect(w.balance_fen).toBe(1000 - 3 * rate)
  expect(w.entries.filter((e) => e.kind === 'scan_charge').map((e) => e.amount_fen).sort((a, b) => a - b)).toEqual([-2 * rate, -rate])
  // The wallet's statement names the scan charges.
  pocket.instance.onShow()
  await until(() => text(pocket).includes('扫描扣费'), 20000, 'the statement')
  expect(text(el(pocket, '#balance'))).toBe(yuan(1000 - 3 * rate))
}), 120000)

test('a PDF opens in the document viewer, an image in the image viewer', explained(async () => {
  record.opened.length = 0
  await press(comp, `#view-${pdf.id}`)
  await until(() => record.opened.length === 1, 20000, 'the document viewer')
  expect(record.opened[0]).toMatchObject({ kind: 'document', fileType: 'pdf' })
  expect(fs.readFileSync(record.opened[0].filePath).subarray(0, 5).toString()).toBe('%PDF-')
  expect(fs.readFileSync(record.opened[0].filePath)).toEqual(fs.readFileSync(path.join(world.fixtures, 'report.pdf')))

  // A tap on the photo's row opens it.
  el(comp, `#scan-${png.id}`).dispatchEvent('tap')
  await until(() => record.opened.length === 2, 20000, 'the image viewer')
  expect(record.opened[1].kind).toBe('image')
  expect(record.opened[1].urls).toEqual([record.opened[1].filePath])
  expect(fs.readFileSync(record.opened[1].filePath)).toEqual(fs.readFileSync(path.join(world.fixtures, 'photo.png')))
}))

test('rename keeps the extension; sharing copies a link that works until it is stopped', explained(async () => {
  // Rename: the dialog holds the name without its extension; the user types a new one.
  record.modals.length = 0
  script.modals.push({ confirm: true, content: '合同扫描' })
  await press(comp, `#rename-${pdf.id}`)
  await until(() => rowOf(comp, pdf.id)?.name === '合同扫描.pdf', 20000, 'the new name')
  expect(record.modals).toEqual(['重命名'])
  expect(record.dialogs[record.dialogs.length - 1]).toEqual({ title: '重命名', content: 'SCAN0010', editable: true })
  expect((await scan(pdf.id)).name).toBe('合同扫描.pdf')
  expect(text(el(comp, `#scan-${pdf.id}`))).toContain('合同扫描.pdf')
  // Cancelled, nothing changes.
  script.modals.push({ confirm: false, content: '别的名字' })
  await press(comp, `#rename-${pdf.id}`)
  await until(() => record.modals.length === 2, 5000, 'the dialog')
  expect((await scan(pdf.id)).name).toBe('合同扫描.pdf')

  // Share for a day: the link is copied and works without signing in.
  record.sheets.length = 0
  script.sheets.push(1)
  const before = Date.now()
  await press(comp, `#share-${pdf.id}`)
  const url = await until(() => record.clipboard[0], 20000, 'the copied link')
  expect(record.sheets[0]).toEqual(['链接 1 小时有效', '链接 1 天有效', '链接 3 天有效', '链接 7 天有效'])
  expect(record.toasts).toContain('链接已复制')
  const shared = await scan(pdf.id)
  expect(shared.share_url).toBe(url)
  expect(shared.shared_until).toBeGreaterThanOrEqual(before + 24 * 3600_000 - 1000)
  expect(shared.shared_until).toBeLessThanOrEqual(Date.now() + 24 * 3600_000 + 1000)
  await until(() => text(el(comp, `#scan-${pdf.id}`)).includes(`分享至 ${when(shared.shared_until)}`), 5000, 'the shared tag')
  const opened = await fetchPublic(url)
  expect(opened.status).toBe(200)
  expect(opened.body).toEqual(fs.readFileSync(path.join(world.fixtures, 'report.pdf')))

  // Stop sharing: offered beside the lifetimes while a link is live; the link stops working.
  script.sheets.push(4)
  await press(comp, `#share-${pdf.id}`)
  await until(() => !rowOf(comp, pdf.id)?.shared, 20000, 'the link stopped')
  expect(record.sheets[1]).toEqual([...record.sheets[0], '取消分享'])
  expect(record.toasts).toContain('已取消分享')
  expect((await scan(pdf.id)).shared_until).toBeUndefined()
  expect((await fetchPublic(url)).status).toBe(404)
  // A cancelled sheet does nothing.
  await press(comp, `#share-${pdf.id}`)
  await until(() => record.sheets.length === 3, 5000, 'the sheet')
  expect(record.clipboard).toEqual([url])
}), 60000)

test('print this makes a job on the documents tab; delete asks first', explained(async () => {
  record.nav.length = 0
  await press(comp, `#print-${pdf.id}`)
  const nav = await until(() => lastNav(), 20000, 'the documents tab')
  expect(nav).toEqual({ kind: 'switchTab', url: '/pages/documents/documents' })
  expect(record.toasts).toContain('已加入我的文档')
  const job = await until(async () => (await call('get', '/api/v1/jobs', { query: { limit: 50 } })).find((j) => j.file_name === '合同扫描.pdf'), 20000, 'the job')
  const ready = await until(async () => {
    const j = await call('get', '/api/v1/jobs/{id}', { path: { id: job.id } })
    return j.state === 'ready' && j
  }, 60000, 'the job ready')
  expect(ready.page_count).toBe(2)
  // The scan record stays.
  expect((await scan(pdf.id)).id).toBe(pdf.id)

  // Delete, cancelled: it stays. Confirmed: gone here and at the server.
  record.modals.length = 0
  script.modals.push({ confirm: false })
  await press(comp, `#delete-${png.id}`)
  await until(() => record.modals.length === 1, 5000, 'the question')
  expect(record.modals).toEqual(['删除这条扫描记录及其文件？'])
  expect(record.dialogs[record.dialogs.length - 1]).toMatchObject({ content: 'IMG_0001.png', editable: false })
  expect((await scan(png.id)).id).toBe(png.id)
  await press(comp, `#delete-${png.id}`)
  await until(() => !comp.querySelector(`#scan-${png.id}`), 20000, 'the row gone')
  const gone = await scan(png.id).then(() => undefined, (e) => e)
  expect(gone).toMatchObject({ status: 404 })
  expect((await call('get', '/api/v1/scans')).map((s) => s.id)).toEqual([pdf.id])
}), 90000)

test('a signed-out user is sent to sign in', explained(async () => {
  wx.clearStorageSync()
  record.nav.length = 0
  const out = show(page('scans'))
  out.instance.onShow()
  expect(lastNav()).toEqual({ kind: 'reLaunch', url: '/pages/index/index' })
}))
