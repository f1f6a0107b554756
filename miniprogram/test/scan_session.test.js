// Scanning at a print point (扫描): the release page offers Scan where the print point takes
// scans, and opens a scan session there; the scan-session page says to scan on the device now,
// counts down, shows the scan rate, and shows each scan as the gateway uploads it (polled: the
// countdown moves later as scans arrive); another user meanwhile is told someone is scanning;
// ending the session there ends it at the server, and keep scanning opens it again.
const path = require('node:path')
const { explained, gatewayScan, press, signUp, world, page, until, lastNav, queryOf, text, el, record } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))
const { yuan } = require(path.join(dist, 'lib/i18n.js'))
const { session, save } = require(path.join(dist, 'lib/session.js'))

const opened = { q: encodeURIComponent(world.print_point_url) }
const scanSession = (id) => call('get', '/api/v1/scan-sessions/{id}', { path: { id } })

const comps = []
const show = (c) => (comps.push(c), c)
/** Sessions this file opened: ended at the end, so other files find the print point free. */
const sessions = []
afterAll(async () => {
  for (const c of comps) {
    c.instance.onHide?.()
    c.detach()
  }
  for (const s of sessions) {
    save(s.tokens)
    await call('delete', '/api/v1/scan-sessions/{id}', { path: { id: s.id } }).catch(() => undefined)
  }
})

test('Scan on the release page opens a session whose page shows the scans as they arrive', explained(async () => {
  await signUp('扫描君')
  const alice = session()
  const release = show(page('release', opened))
  await until(() => release.data.loaded, 20000, 'the release page')
  // The world's print point takes scans (its scan switch is on by default).
  const view = await call('get', '/api/v1/release/{code}', { path: { code: world.print_point_code } })
  expect(view.scan_available).toBe(true)
  expect(text(el(release, '#scan-offer'))).toContain('在这台设备上扫描文件')

  record.nav.length = 0
  await press(release, '#scan-doc')
  const nav = await until(() => lastNav(), 20000, 'the scan-session page')
  expect(nav.kind).toBe('navigateTo')
  expect(nav.url.split('?')[0]).toBe('/pages/scan_session/scan_session')
  const query = queryOf(nav.url)
  expect(query.code).toBe(world.print_point_code)
  // The server has it: open, at this print point, at the world's scan rate.
  const opened0 = await scanSession(query.id)
  sessions.push({ id: opened0.id, tokens: alice })
  expect(opened0).toMatchObject({ open: true, print_point_id: world.print_point_id, scan_fen_per_page: world.scan_fen_per_page, scans: [] })

  const comp = show(page('scan_session', query))
  comp.instance.onShow()
  await until(() => comp.data.loaded, 20000, 'the session')
  expect(text(el(comp, '#point'))).toBe(view.print_point.name)
  expect(text(comp)).toContain('现在请在设备上扫描，扫描件会出现在这里')
  expect(text(comp)).toContain('等待扫描件…')
  expect(text(el(comp, '#rate'))).toBe(`扫描费用 ${yuan(world.scan_fen_per_page)} / 每页`)
  // Counting down the five minutes from the session's expires_at.
  const seconds = (c) => { const [m, s] = text(el(c, '#countdown')).split(':').map(Number); return m * 60 + s }
  const left = seconds(comp)
  const expected = Math.ceil((opened0.expires_at - Date.now()) / 1000)
  expect(Math.abs(left - expected)).toBeLessThanOrEqual(3)
  expect(left).toBeGreaterThan(240)
  await until(() => seconds(comp) < left, 5000, 'the countdown to move')

  // The MFP scans a page; the gateway uploads it. It is hers (her session was open), and her
  // empty wallet leaves it unpaid.
  const scan = await gatewayScan('letter.pdf', 'SCAN0001.PDF')
  expect(scan).toMatchObject({ name: 'SCAN0001.pdf', pages: 1, price_fen: world.scan_fen_per_page, charge: 'unpaid' })
  // The page shows it by itself (it polls the open session), with its thumbnail.
  await until(() => comp.querySelector(`#scan-${scan.id}`), 15000, 'the scan on the page')
  const row = text(el(comp, `#scan-${scan.id}`))
  expect(row).toContain('SCAN0001.pdf')
  expect(row).toContain('1 页')
  expect(row).toContain(yuan(world.scan_fen_per_page))
  expect(row).toContain('待支付')
  expect(comp.data.scans.find((s) => s.id === scan.id).charge).toBe('unpaid')
  expect(text(comp)).not.toContain('等待扫描件…')
  await until(() => comp.data.thumbs[scan.id], 15000, 'the thumbnail')
  expect(record.requests).toContain(`GET /api/v1/scans/${scan.id}/thumbnail`)
  // The scan kept the session open longer: the page counts down to the later time.
  const after = await scanSession(query.id)
  expect(after.scans.map((s) => s.id)).toEqual([scan.id])
  expect(after.expires_at).toBeGreaterThan(opened0.expires_at)
  await until(() => comp.data.expiresAt === after.expires_at, 10000, 'the later expiry on the page')

  // Meanwhile another user at the same device is told someone is scanning, with the time left.
  comp.instance.onHide()
  await signUp('路人')
  const other = show(page('release', opened))
  await until(() => other.data.loaded, 20000, 'the release page for the other user')
  record.nav.length = 0
  await press(other, '#scan-doc')
  await until(() => other.querySelector('#scan-error'), 20000, 'the busy message')
  const busy = await call('post', '/api/v1/scan-sessions', { body: { print_point_code: world.print_point_code } }).then(() => undefined, (e) => e)
  expect(busy).toMatchObject({ status: 409, code: 'scan_session_busy' })
  expect(text(el(other, '#scan-error'))).toBe(busy.message)
  expect(record.nav).toEqual([])

  // Back to her: ending the session ends it at the server; the page says so and stops.
  save(alice)
  comp.instance.onShow()
  await until(() => comp.querySelector('#end'), 20000, 'the end button')
  await press(comp, '#end')
  await until(() => text(comp).includes('扫描已结束'), 20000, 'the session ended')
  const ended = await scanSession(query.id)
  expect(ended.open).toBe(false)
  expect(ended.closed_at).toBeTruthy()
  expect(comp.querySelector('#end')).toBeFalsy()
  expect(comp.querySelector('#countdown')).toBeFalsy()
  // A scan now is no longer hers: the admins get it, her page does not.
  const lone = await gatewayScan('letter.pdf', 'SCAN0002.PDF')
  expect(lone.user_id).toBeUndefined()
  expect((await call('get', '/api/v1/scans')).map((s) => s.id)).toEqual([scan.id])

  // Keep scanning opens it again (the same session page, open and counting down).
  await press(comp, '#keep')
  await until(() => comp.data.open, 20000, 'the session open again')
  const again = await scanSession(comp.data.id)
  if (again.id !== query.id) sessions.push({ id: again.id, tokens: alice })
  expect(again.open).toBe(true)
  expect(text(comp)).toContain('现在请在设备上扫描')
  expect(seconds(comp)).toBeGreaterThan(240)

  // My scans.
  record.nav.length = 0
  await press(comp, '#my-scans')
  expect(lastNav()).toEqual({ kind: 'navigateTo', url: '/pages/scans/scans' })
  // Done here: end it, so the print point is free for the next test file.
  await press(comp, '#end')
  await until(async () => (await scanSession(again.id)).open === false, 20000, 'the session ended at the server')
}), 120000)

test('a signed-out user is sent to sign in', explained(async () => {
  wx.clearStorageSync()
  record.nav.length = 0
  show(page('scan_session', { id: 'whatever', code: world.print_point_code }))
  expect(lastNav()).toEqual({ kind: 'reLaunch', url: '/pages/index/index' })
}))
