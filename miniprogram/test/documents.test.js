// The documents tab: a file sent in a chat and a photo are uploaded, followed until ready (with
// their pages, price and thumbnail), a ready one opens its options, and deleting asks first.
const path = require('node:path')
const { explained, press, signUp, world, page, until, lastNav, queryOf, text, el, script, record } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call } = require(path.join(dist, 'lib/api.js'))
const { yuan } = require(path.join(dist, 'lib/i18n.js'))

/** The state a job's row shows. */
const stateOf = (comp, id) => comp.data.jobs.find((j) => j.id === id)?.state

const jobs = () => call('get', '/api/v1/jobs', { query: { limit: 50 } })

let comp
afterEach(() => {
  // The page polls while jobs move: stop it as leaving the tab would.
  comp?.instance.onHide()
  comp?.detach()
  comp = undefined
})

test('a chat file and a photo upload, become ready, and a ready one opens its options', explained(async () => {
  await signUp('文档君')
  comp = page('documents')
  comp.instance.onShow()
  await until(() => text(comp).includes('暂无文档'), 20000, 'the empty list')

  // From a chat.
  script.files.push({ path: path.join(world.fixtures, 'letter.pdf'), name: '信.pdf' })
  await press(comp, '#from-chat')
  const letter = await until(async () => (await jobs()).find((j) => j.file_name === '信.pdf'), 20000, 'the upload')
  expect(record.requests).toContain('POST /api/v1/jobs/multipart')
  // Followed until ready, without reopening the tab.
  await until(() => stateOf(comp, letter.id) === 'ready', 45000, 'ready on the page')
  const ready = (await jobs()).find((j) => j.id === letter.id)
  expect(ready.state).toBe('ready')
  const row = text(el(comp, `#job-${letter.id}`))
  expect(row).toContain('信.pdf')
  expect(row).toContain('待打印')
  expect(row).toContain(`${ready.page_count} 页`)
  expect(row).toContain(yuan(ready.quote_fen))
  // Its thumbnail was fetched with the user's token.
  await until(() => comp.data.thumbs[letter.id], 20000, 'the thumbnail')
  expect(record.requests).toContain(`GET /api/v1/jobs/${letter.id}/thumbnail`)
  expect(comp.data.uploads).toEqual([])

  // From the photos.
  script.media.push(path.join(world.fixtures, 'photo.png'))
  await press(comp, '#from-photos')
  const photo = await until(async () => (await jobs()).find((j) => j.id !== letter.id), 20000, 'the photo upload')
  await until(() => stateOf(comp, photo.id) === 'ready', 45000, 'the photo ready')

  // A ready job opens its options.
  record.nav.length = 0
  el(comp, `#job-${letter.id}`).dispatchEvent('tap')
  const nav = await until(() => lastNav(), 5000, 'a navigation')
  expect(nav.kind).toBe('navigateTo')
  expect(nav.url.split('?')[0]).toBe('/pages/options/options')
  expect(queryOf(nav.url).id).toBe(letter.id)
}), 120000)

test('deleting asks first, then the job is gone here and at the server', explained(async () => {
  comp = page('documents')
  comp.instance.onShow()
  const before = await jobs()
  expect(before.length).toBeGreaterThan(0)
  const victim = before[0]
  await until(() => comp.querySelector(`#delete-${victim.id}`), 20000, 'the delete button')

  record.modals.length = 0
  record.nav.length = 0
  await press(comp, `#delete-${victim.id}`)
  await until(() => !comp.querySelector(`#job-${victim.id}`), 20000, 'the row gone')
  expect(record.modals).toEqual(['删除这份文档？'])
  // The tap on its button did not open the row.
  expect(record.nav).toEqual([])
  expect((await jobs()).map((j) => j.id)).not.toContain(victim.id)
}))

test('a signed-out user is sent to sign in', explained(async () => {
  wx.clearStorageSync()
  record.nav.length = 0
  comp = page('documents')
  comp.instance.onShow()
  expect(lastNav()).toEqual({ kind: 'reLaunch', url: '/pages/index/index' })
}))
