// A scan session (扫描): the user chose Scan at a print point, and what its MFP sends while the
// session is open is theirs. The page says so, counts down to when the session ends (later with
// each scan that arrives), shows the scan rate, and shows the scans as they arrive: wx.request
// cannot read the event stream, so the session is polled while it is open. As the mobile web
// app's ScanSessionPage does.
import { call, image, message, type Schemas } from '../../lib/api'
import { words, yuan } from '../../lib/i18n'
import { scanRow, type ScanRow } from '../../lib/scans'
import { Poll, requireSignIn } from '../common'

type Session = Schemas['ScanSessionView']

/** How often the open session is asked for again, ms. */
const EVERY = 2500
/** Downloaded thumbnails by scan id, kept across visits. */
const thumbs: Record<string, string> = {}
/** Each page's session poll and its countdown clock. */
const polls = new WeakMap<object, Poll>()
const clocks = new WeakMap<object, number>()

/** Milliseconds as `m:ss`. */
function clock(ms: number): string {
  const s = Math.ceil(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

Component({
  data: {
    t: words(), id: '', code: '', loaded: false, error: '', busy: false,
    name: '', expiresAt: 0, sessionOpen: false, open: false, countdown: '', rate: '', free: true,
    scans: [] as ScanRow[], thumbs: {} as Record<string, string>,
  },
  lifetimes: {
    detached() {
      this.stop()
    },
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      if (!requireSignIn()) return
      this.setData({ id: query.id ?? '', code: query.code ?? '' })
      void this.refresh()
    },
    onShow() {
      this.setData({ t: words() })
      wx.setNavigationBarTitle({ title: words().scanSession })
      // Back on the page (from the scan records): look again, and follow it if still open.
      if (this.data.loaded) void this.refresh()
    },
    onHide() {
      this.stop()
    },
    async refresh() {
      try {
        await this.load()
      } catch (e) {
        if (requireSignIn()) this.setData({ error: message(e) })
      }
    },
    /** One look at the session; answers whether it is still open (so the poll goes on). */
    async load(): Promise<boolean> {
      const s = await call('get', '/api/v1/scan-sessions/{id}', { path: { id: this.data.id } })
      this.show(s)
      return s.open
    },
    show(s: Session) {
      const t = words()
      this.setData({
        loaded: true, error: '', id: s.id, name: s.print_point_name, expiresAt: s.expires_at, sessionOpen: s.open,
        free: s.scan_fen_per_page <= 0,
        rate: s.scan_fen_per_page > 0 ? `${t.scanRate} ${yuan(s.scan_fen_per_page)} / ${t.perPage}` : t.scanFree,
        scans: s.scans.map(scanRow),
      })
      this.tick()
      for (const x of s.scans) void this.thumb(x.id)
      if (s.open) this.follow()
      else this.stop()
    },
    /** Polls the session and runs the countdown while the page is shown and the session open. */
    follow() {
      let poll = polls.get(this)
      if (!poll) {
        poll = new Poll(() => this.load(), EVERY)
        polls.set(this, poll)
      }
      poll.start()
      if (!clocks.has(this)) clocks.set(this, setInterval(() => this.tick(), 1000) as unknown as number)
    },
    stop() {
      polls.get(this)?.stop()
      const c = clocks.get(this)
      if (c !== undefined) clearInterval(c)
      clocks.delete(this)
    },
    /** The countdown, from the session's `expires_at`. */
    tick() {
      const left = Math.max(0, this.data.expiresAt - Date.now())
      const open = this.data.sessionOpen && left > 0
      const countdown = clock(left)
      if (open !== this.data.open || countdown !== this.data.countdown) this.setData({ open, countdown })
    },
    async thumb(id: string) {
      if (!thumbs[id]) {
        const path = await image(`/api/v1/scans/${id}/thumbnail`)
        if (path) thumbs[id] = path
      }
      if (thumbs[id] && this.data.thumbs[id] !== thumbs[id]) this.setData({ thumbs: { ...this.data.thumbs, [id]: thumbs[id] } })
    },
    /** Ends the session: later scans at the print point are no longer this user's. */
    async end() {
      await this.act(() => call('delete', '/api/v1/scan-sessions/{id}', { path: { id: this.data.id } }))
    },
    /** Opening again extends the user's own session, or opens a new one once it has ended. */
    async keepScanning() {
      if (!this.data.code) return
      await this.act(() => call('post', '/api/v1/scan-sessions', { body: { print_point_code: this.data.code } }))
    },
    async act(how: () => Promise<Session>) {
      if (this.data.busy) return
      this.setData({ busy: true, error: '' })
      try {
        this.show(await how())
      } catch (e) {
        this.setData({ error: message(e) })
      }
      this.setData({ busy: false })
    },
    myScans() {
      wx.navigateTo({ url: '/pages/scans/scans' })
    },
  },
})
