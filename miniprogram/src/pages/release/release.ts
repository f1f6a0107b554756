// At a print point, after scanning its QR code: the user's ready jobs priced here, all chosen,
// paid from the wallet or with WeChat Pay, then followed to the printer until printed or failed
// (and refunded). Where the print point takes scans, Scan (扫描) opens a scan session there and
// follows it on the scan-session page. As the mobile web app's ReleasePage does.
import { call, message, type Job, type Schemas } from '../../lib/api'
import { words, yuan } from '../../lib/i18n'
import { hasModule, loadModules } from '../../lib/modules'
import { printPointCode } from '../../lib/print_point'
import { signedIn } from '../../lib/session'
import { askToSubscribe, payWithWechat, pollOf, releaseId, stopPoll, subscribeTemplates, type VantEvent } from '../common'

interface Row { id: string; name: string; detail: string; fen: number; price: string }
interface Watched { id: string; name: string; state: string; text: string; tag: string; note: string }
const FINAL = ['completed', 'failed', 'cancelled', 'expired']

function rowOf(p: Schemas['PricedJobView']): Row {
  const t = words()
  return { id: p.job.id, name: p.job.file_name, detail: `${p.quote.pages} ${t.pages} × ${p.quote.copies}`,
    fen: p.quote.total_fen, price: yuan(p.quote.total_fen) }
}

/** How a released job is doing, in words. */
function watchedOf(j: Pick<Job, 'id' | 'file_name' | 'state'> & Partial<Job>): Watched {
  const t = words()
  const text = j.state === 'completed' ? t.completed : j.state === 'failed' ? t.failed
    : FINAL.includes(j.state) ? t.states[j.state] : t.printing
  const reason = j.error_code ? t.reasons[j.error_code] ?? j.error_code : ''
  const refund = j.refunded_fen ? `${t.refunded} ${yuan(j.refunded_fen)}` : ''
  return { id: j.id, name: j.file_name, state: j.state, text, note: [reason, refund].filter(Boolean).join(' · '),
    tag: j.state === 'failed' ? 'danger' : j.state === 'completed' ? 'success' : 'primary' }
}

Component({
  data: {
    t: words(), code: '', loaded: false, error: '', busy: false,
    point: { name: '', address: '' }, available: true, notice: '',
    jobs: [] as Row[], chosen: [] as string[], total: yuan(0), totalFen: 0, balance: yuan(0),
    watched: [] as Watched[], tmplIds: [] as string[],
    scanAvailable: false, opening: false, scanError: '',
    // What the enterprise's edition includes (everything until known).
    scanModule: true, wechatPayModule: true,
  },
  lifetimes: {
    detached() {
      stopPoll(this)
    },
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      // Opened from the QR code by WeChat, `q` is the scanned URL (encoded).
      const scanned = query.q ? decodeURIComponent(query.q) : query.code ?? ''
      const code = query.code ?? printPointCode(scanned)
      if (!signedIn()) {
        wx.reLaunch({ url: `/pages/index/index?q=${encodeURIComponent(scanned)}` })
        return
      }
      if (!code) return this.setData({ error: words().notOurs })
      this.setData({ code })
      void this.load()
      void subscribeTemplates().then((tmplIds) => this.setData({ tmplIds }))
    },
    onShow() {
      this.setData({ t: words() })
      // Back on the page: follow what is still on its way again.
      if (this.data.watched.some((w) => !FINAL.includes(w.state))) pollOf(this, () => this.follow()).start()
    },
    onHide() {
      stopPoll(this)
    },
    async load() {
      try {
        const page = await call('get', '/api/v1/release/{code}', { path: { code: this.data.code } })
        await loadModules()
        this.setData({ scanModule: hasModule('scan_to_cloud'), wechatPayModule: hasModule('wechat_payment') })
        const t = words()
        this.setData({
          loaded: true, point: { name: page.print_point.name, address: page.print_point.address },
          available: page.available, scanAvailable: page.scan_available, balance: yuan(page.balance_fen), jobs: page.jobs.map(rowOf),
          chosen: page.jobs.map((j) => j.job.id),
          notice: page.available ? '' : page.unavailable_code === 'print_point_offline' ? t.offline : t.unavailable,
        })
        wx.setNavigationBarTitle({ title: page.print_point.name })
        this.count()
      } catch (e) {
        this.setData({ error: message(e) })
      }
    },
    /** Scan (扫描): opens a scan session at this print point and goes to it. */
    async scanDoc() {
      if (this.data.opening) return
      this.setData({ opening: true, scanError: '' })
      try {
        const s = await call('post', '/api/v1/scan-sessions', { body: { print_point_code: this.data.code } })
        wx.navigateTo({ url: `/pages/scan_session/scan_session?id=${s.id}&code=${this.data.code}` })
      } catch (e) {
        // Someone else is scanning here (with the minutes left), or scanning was switched off.
        this.setData({ scanError: message(e) })
      }
      this.setData({ opening: false })
    },
    onChosen(e: VantEvent<string[]>) {
      this.setData({ chosen: e.detail })
      this.count()
    },
    count() {
      const fen = this.data.jobs.filter((j) => this.data.chosen.includes(j.id)).reduce((s, j) => s + j.fen, 0)
      this.setData({ totalFen: fen, total: yuan(fen) })
    },
    async payWallet() {
      await this.pay(async (body) => {
        const r = await call('post', '/api/v1/release/{code}', { path: { code: this.data.code }, body })
        return r.jobs
      })
    },
    async payWechat() {
      if (!this.data.totalFen) return
      await this.pay(async (body) => {
        const started = await call('post', '/api/v1/release/{code}/payments', {
          path: { code: this.data.code }, body: { ...body, provider: 'wechat_pay', method: 'jsapi' },
        })
        const outcome = await payWithWechat(started)
        if (outcome === 'cancelled') wx.showToast({ title: words().paymentCancelled, icon: 'none' })
        if (outcome === 'pending') this.setData({ error: words().paymentPending })
        if (outcome !== 'paid') return []
        // Paid: the server released them; follow them from what was chosen.
        return this.data.jobs.filter((j) => this.data.chosen.includes(j.id))
          .map((j) => ({ id: j.id, file_name: j.name, state: 'released' as const }))
      })
    },
    /** Pays for the chosen jobs with `how`, then follows the jobs it released. */
    async pay(how: (body: { release_id: string; job_ids: string[] }) => Promise<Parameters<typeof watchedOf>[0][]>) {
      if (this.data.busy || !this.data.available || !this.data.chosen.length) return
      // Asked first, while the tap still counts as the user's (WeChat requires it).
      await askToSubscribe(this.data.tmplIds)
      this.setData({ busy: true, error: '' })
      try {
        const released = await how({ release_id: releaseId(), job_ids: this.data.chosen })
        if (released.length) {
          this.setData({ watched: [...this.data.watched, ...released.map(watchedOf)] })
          pollOf(this, () => this.follow()).start()
          await this.load()
        }
      } catch (e) {
        this.setData({ error: message(e) })
      }
      this.setData({ busy: false })
    },
    /** One look at the released jobs; answers whether any is still on its way. */
    async follow(): Promise<boolean> {
      const jobs = await call('get', '/api/v1/jobs', { query: { limit: 50 } })
      const watched = this.data.watched.map((w) => {
        const j = jobs.find((x) => x.id === w.id)
        return j ? watchedOf(j) : w
      })
      this.setData({ watched })
      return watched.some((w) => !FINAL.includes(w.state))
    },
  },
})
