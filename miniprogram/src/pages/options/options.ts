// A ready job's print options. Every change is saved and re-priced at once, so the price shown
// is the one that will be charged (as the mobile web app's JobOptionsPage does).
import { call, message, type Job } from '../../lib/api'
import { words, yuan } from '../../lib/i18n'
import type { VantEvent } from '../common'

type Options = Job['options']

/** Answers of older changes that arrive late must not overwrite newer ones. */
let latest = 0

Component({
  data: {
    t: words(),
    id: '',
    name: '',
    detail: '',
    copies: 1,
    sides: 'one-sided' as Options['sides'],
    colour: 'auto' as Options['colour_mode'],
    paper: 'A4' as Options['paper_size'],
    ranges: '',
    price: '',
    error: '',
    saving: false,
    loaded: false,
  },
  methods: {
    async onLoad(query: Record<string, string | undefined>) {
      this.setData({ id: query.id ?? '' })
      try {
        this.show(await call('get', '/api/v1/jobs/{id}', { path: { id: this.data.id } }))
      } catch (e) {
        this.setData({ error: message(e) })
      }
    },
    onShow() {
      this.setData({ t: words() })
      wx.setNavigationBarTitle({ title: words().options })
    },
    show(j: Job) {
      const t = words()
      this.setData({
        name: j.file_name,
        detail: `${j.page_count ?? 0} ${t.pages} · ${t.states[j.state] ?? j.state}`,
        copies: j.options.copies,
        sides: j.options.sides,
        colour: j.options.colour_mode,
        paper: j.options.paper_size,
        ranges: j.options.page_ranges,
        price: yuan(j.quote_fen),
        loaded: true,
      })
    },
    onCopies(e: VantEvent<number>) {
      this.setData({ copies: e.detail })
      void this.apply()
    },
    onChoice(e: VantEvent<string>) {
      this.setData({ [e.currentTarget.dataset.field]: e.detail })
      void this.apply()
    },
    onRanges(e: VantEvent<string>) {
      // Saved when the field is left or confirmed: half-typed ranges are not valid.
      this.setData({ ranges: e.detail })
    },
    /** Saves the options as they are now; answers whether the server took them. */
    async apply(): Promise<boolean> {
      const mine = ++latest
      const d = this.data
      this.setData({ saving: true, error: '' })
      try {
        const j = await call('patch', '/api/v1/jobs/{id}/options', {
          path: { id: d.id },
          body: { copies: d.copies, sides: d.sides, colour_mode: d.colour, paper_size: d.paper, page_ranges: d.ranges.trim() },
        })
        if (mine !== latest) return true
        const quote = j.quote_fen ?? (await call('get', '/api/v1/jobs/{id}/quote', { path: { id: d.id } })).total_fen
        this.setData({ price: yuan(quote), saving: false })
        return true
      } catch (e) {
        if (mine === latest) this.setData({ error: message(e), saving: false })
        return false
      }
    },
    async save() {
      if (await this.apply()) wx.navigateBack()
    },
  },
})
