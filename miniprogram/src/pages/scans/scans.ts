// Scan records (扫描记录): what the user scanned at print points, newest first. Each opens (a PDF
// in WeChat's document viewer, an image in its image viewer), and can be renamed, deleted,
// printed ("print this" makes a job, held on the documents tab for release), shared by a link
// that expires (copied to the clipboard), and, when the wallet could not cover the scan rate,
// paid for from the wallet. As the mobile web app's ScanRecordsPage does.
import { ApiError, call, download, image, message } from '../../lib/api'
import { words } from '../../lib/i18n'
import { scanRow, type Scan } from '../../lib/scans'
import { requireSignIn, when } from '../common'

const PAGE = 50
/** The share link's lifetimes offered, hours (words().shareHours names them, in order). */
const SHARE_HOURS = [1, 24, 72, 168]
/** Downloaded thumbnails by scan id, kept across visits. */
const thumbs: Record<string, string> = {}

function row(s: Scan) {
  const t = words()
  return {
    ...scanRow(s),
    time: when(s.scanned_at),
    shared: s.shared_until ? `${t.sharedUntil} ${when(s.shared_until)}` : '',
  }
}

type Row = ReturnType<typeof row>

Component({
  data: {
    t: words(), loading: true, error: '', busy: '', more: false,
    records: [] as Scan[], scans: [] as Row[], thumbs: {} as Record<string, string>,
  },
  methods: {
    onShow() {
      this.setData({ t: words() })
      wx.setNavigationBarTitle({ title: words().scanRecords })
      if (requireSignIn()) void this.refresh()
    },
    async onPullDownRefresh() {
      await this.refresh()
      wx.stopPullDownRefresh()
    },
    async refresh() {
      try {
        await this.load(true)
      } catch (e) {
        if (requireSignIn()) this.setData({ error: message(e), loading: false })
      }
    },
    async load(reset: boolean) {
      const offset = reset ? 0 : this.data.records.length
      const got = await call('get', '/api/v1/scans', { query: { limit: PAGE, offset } })
      this.list(reset ? got : [...this.data.records, ...got])
      this.setData({ loading: false, more: got.length === PAGE })
      for (const s of got) void this.thumb(s.id)
    },
    async loadMore() {
      try {
        await this.load(false)
      } catch (e) {
        this.setData({ error: message(e) })
      }
    },
    list(records: Scan[]) {
      this.setData({ records, scans: records.map(row) })
    },
    replace(s: Scan) {
      this.list(this.data.records.map((x) => (x.id === s.id ? s : x)))
    },
    async thumb(id: string) {
      if (!thumbs[id]) {
        const path = await image(`/api/v1/scans/${id}/thumbnail`)
        if (path) thumbs[id] = path
      }
      if (thumbs[id] && this.data.thumbs[id] !== thumbs[id]) {
        this.setData({ thumbs: { ...this.data.thumbs, [id]: thumbs[id] } })
      }
    },
    record(e: WechatMiniprogram.TouchEvent): Scan | undefined {
      return this.data.records.find((x) => x.id === e.currentTarget.dataset.id)
    },
    /** Runs one action on a record, saying what went wrong when it fails. */
    async act(s: Scan, action: () => Promise<void>) {
      if (this.data.busy) return
      this.setData({ busy: s.id, error: '' })
      try {
        await action()
      } catch (e) {
        this.setData({ error: message(e) })
      }
      this.setData({ busy: '' })
    },

    /** Opens the file: a PDF in WeChat's document viewer, an image in its image viewer. */
    async open(e: WechatMiniprogram.TouchEvent) {
      const s = this.record(e)
      if (!s) return
      if (s.charge === 'unpaid') {
        wx.showToast({ title: words().payToOpen, icon: 'none' })
        return
      }
      await this.act(s, async () => {
        const path = await download(`/api/v1/scans/${s.id}/file`)
        if (s.format === 'pdf') {
          await wx.openDocument({ filePath: path, fileType: 'pdf', showMenu: true })
        } else if (s.format === 'jpeg' || s.format === 'png') {
          await wx.previewImage({ urls: [path], current: path, showmenu: true })
        } else {
          // TIFF: WeChat shows neither; it can still go to a chat (and be saved from there).
          try {
            await wx.shareFileMessage({ filePath: path, fileName: s.name })
          } catch {
            wx.showToast({ title: words().sendToChat, icon: 'none' })
          }
        }
      })
    },

    async rename(e: WechatMiniprogram.TouchEvent) {
      const s = this.record(e)
      if (!s) return
      const t = words()
      // The name without its extension: the server keeps the format's.
      const base = s.name.replace(/\.[A-Za-z0-9]+$/, '')
      const answer = await wx.showModal({
        title: t.rename, editable: true, placeholderText: t.newName, content: base,
        confirmText: t.confirm, cancelText: t.cancel,
      })
      const name = (answer.content ?? '').trim()
      if (!answer.confirm || !name || name === base) return
      await this.act(s, async () => {
        this.replace(await call('patch', '/api/v1/scans/{id}', { path: { id: s.id }, body: { name } }))
      })
    },

    async remove(e: WechatMiniprogram.TouchEvent) {
      const s = this.record(e)
      if (!s) return
      const t = words()
      const { confirm } = await wx.showModal({
        title: t.deleteScan, content: s.name, confirmText: t.delete, confirmColor: '#ee0a24', cancelText: t.cancel,
      })
      if (!confirm) return
      await this.act(s, async () => {
        await call('delete', '/api/v1/scans/{id}', { path: { id: s.id } })
        this.list(this.data.records.filter((x) => x.id !== s.id))
      })
    },

    /** "Print this": a job made from the scan, then the documents tab, where it gets ready. */
    async print(e: WechatMiniprogram.TouchEvent) {
      const s = this.record(e)
      if (!s) return
      await this.act(s, async () => {
        await call('post', '/api/v1/scans/{id}/print', { path: { id: s.id } })
        wx.showToast({ title: words().printQueued, icon: 'success' })
        wx.switchTab({ url: '/pages/documents/documents' })
      })
    },

    /** A link for 1 hour to 7 days, copied to the clipboard; or, when one is live, stopping it. */
    async share(e: WechatMiniprogram.TouchEvent) {
      const s = this.record(e)
      if (!s) return
      const t = words()
      const itemList = s.shared_until ? [...t.shareHours, t.revoke] : [...t.shareHours]
      let tapIndex: number
      try {
        tapIndex = (await wx.showActionSheet({ itemList })).tapIndex
      } catch {
        return // Cancelled.
      }
      await this.act(s, async () => {
        if (tapIndex >= SHARE_HOURS.length) {
          await call('delete', '/api/v1/scans/{id}/share', { path: { id: s.id } })
          this.replace({ ...s, shared_until: undefined, share_url: undefined })
          wx.showToast({ title: t.revoked, icon: 'none' })
          return
        }
        const link = await call('put', '/api/v1/scans/{id}/share', { path: { id: s.id }, body: { hours: SHARE_HOURS[tapIndex] } })
        this.replace({ ...s, shared_until: link.expires_at, share_url: link.url })
        await wx.setClipboardData({ data: link.url })
        wx.showToast({ title: t.linkCopied, icon: 'success' })
      })
    },

    /** Pays an unpaid scan from the wallet; short of money, offers the wallet to top up. */
    async pay(e: WechatMiniprogram.TouchEvent) {
      const s = this.record(e)
      if (!s || this.data.busy) return
      this.setData({ busy: s.id, error: '' })
      let short: ApiError | undefined
      try {
        this.replace(await call('post', '/api/v1/scans/{id}/pay', { path: { id: s.id } }))
      } catch (err) {
        if (err instanceof ApiError && err.code === 'insufficient_balance') short = err
        else this.setData({ error: message(err) })
      }
      this.setData({ busy: '' })
      if (!short) return
      const t = words()
      const { confirm } = await wx.showModal({ title: short.message, confirmText: t.goTopUp, cancelText: t.cancel })
      if (confirm) wx.switchTab({ url: '/pages/wallet/wallet' })
    },

    /** The empty list's way to a print point. */
    toScan() {
      wx.switchTab({ url: '/pages/scan/scan' })
    },
    /** Keeps a tap on a row's buttons from opening the row. */
    stay() {},
  },
})
