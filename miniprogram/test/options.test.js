// The options page: each change (copies, sides, pages) is saved at once and the price shown is
// the server's for the options as they now are; a bad page range is refused and said so; save
// goes back.
const path = require('node:path')
const { explained, type, press, signUp, world, page, until, lastNav, text, el, record } = require('./harness')

const dist = path.join(__dirname, '..', 'dist')
const { call, upload } = require(path.join(dist, 'lib/api.js'))
const { yuan } = require(path.join(dist, 'lib/i18n.js'))

const job = (id) => call('get', '/api/v1/jobs/{id}', { path: { id } })
/** The price the page shows. */
const price = (comp) => text(el(comp, '#price'))

test('each change is saved and priced at once; save goes back', explained(async () => {
  await signUp('设置君')
  const uploaded = await upload(path.join(world.fixtures, 'report.pdf'), '报告.pdf', () => {})
  const id = uploaded.id
  const ready = await until(async () => { const j = await job(id); return j.state === 'ready' && j }, 45000, 'the job ready')

  const comp = page('options', { id })
  await until(() => text(comp).includes('报告.pdf'), 20000, 'the job')
  expect(text(comp)).toContain(`${ready.page_count} 页`)
  expect(price(comp)).toBe(yuan(ready.quote_fen))

  // Copies: one more, with the stepper's plus.
  el(comp, '#copies').querySelector('.van-stepper__plus').dispatchEvent('tap')
  let server = await until(async () => { const j = await job(id); return j.options.copies === 2 && j }, 20000, 'two copies saved')
  await until(() => price(comp) === yuan(server.quote_fen), 20000, 'the new price')

  // Sides: two-sided on the long edge.
  el(comp, '#sides-long').querySelector('.van-radio__icon-wrap').dispatchEvent('tap')
  server = await until(async () => { const j = await job(id); return j.options.sides === 'two-sided-long-edge' && j }, 20000, 'sides saved')
  await until(() => price(comp) === yuan(server.quote_fen), 20000, 'the two-sided price')

  // Black and white.
  el(comp, '#colour-mono').querySelector('.van-radio__icon-wrap').dispatchEvent('tap')
  await until(async () => (await job(id)).options.colour_mode === 'mono', 20000, 'colour saved')

  // A page range the server refuses is said so, and the page stays.
  const refused = await call('patch', '/api/v1/jobs/{id}/options', { path: { id }, body: { page_ranges: 'abc' } })
    .then(() => undefined, (e) => e.message)
  expect(refused).toBeTruthy()
  record.nav.length = 0
  await type(comp, '#ranges', 'abc')
  await press(comp, '#save')
  await until(() => text(comp).includes(refused), 20000, 'the refusal')
  expect(record.nav).toEqual([])

  // Page 1 only, then save: saved, priced, back.
  await type(comp, '#ranges', '1')
  await press(comp, '#save')
  const nav = await until(() => lastNav(), 20000, 'going back')
  expect(nav.kind).toBe('navigateBack')
  server = await job(id)
  expect(server.options).toMatchObject({ copies: 2, sides: 'two-sided-long-edge', colour_mode: 'mono', page_ranges: '1' })
  expect(price(comp)).toBe(yuan(server.quote_fen))
  expect(text(comp)).not.toContain(refused)
}), 120000)
