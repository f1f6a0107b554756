// The user's documents: sent from a WeChat chat or picked from the photos, uploaded with a
// progress bar each, then followed (polled) while the server processes or prints them. A ready
// one opens its print options.
import { call, image, message, upload, type Job } from '../../lib/api'
import { words, yuan } from '../../lib/i18n'
import { MOVING, pollOf, refreshTabBar, requireSignIn, stopPoll } from '../common'

const EXTENSIONS = ['pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'txt', 'jpg', 'jpeg', 'png']
/** States whose thumbnail exists (the document was processed). */
const PROCESSED = ['ready', 'released', 'printing', 'completed']
/** Downloaded thumbnails by job id, kept across visits. */
const thumbs: Record<string, string> = {}

interface Uploading { key: string; name: string; percent: number; error: string }

/** What one row shows, computed here: WXML cannot call functions. */
function row(j: Job) {
  const t = words()
  return {
    id: j.id,
    name: j.file_name,
    state: j.state,
    stateText: t.states[j.state] ?? j.state,
    detail: j.page_count ? `${j.page_count} ${t.pages}` : '',
    price: j.quote_fen != null ? yuan(j.quote_fen) : '',
    progress: j.progress,
    ready: j.state === 'ready',
    // The server cancels held jobs and deletes finished ones; jobs at the printer stay.
    canCancel: j.state === 'uploaded' || j.state === 'processing',
    canDelete: !['uploaded', 'processing', 'released', 'printing'].includes(j.state),
  }
}

Component({
  data: { t: words(), jobs: [] as ReturnType<typeof row>[], thumbs: {} as Record<string, string>, uploads: [] as Uploading[], loading: true },
  lifetimes: {
    detached() {
      stopPoll(this)
    },
  },
  methods: {
    onShow() {
      this.setData({ t: words() })
      refreshTabBar()
      if (requireSignIn()) void this.refresh()
    },
    async refresh() {
      try {
        await this.load()
      } catch (e) {
        // Signed out by the server (401): start again; otherwise say what went wrong.
        if (requireSignIn()) wx.showToast({ title: message(e), icon: 'none' })
      }
    },
    onHide() {
      stopPoll(this)
    },
    /** Loads the list; answers whether something is still moving (so the poll goes on). */
    async load(): Promise<boolean> {
      const jobs = await call('get', '/api/v1/jobs', { query: { limit: 50 } })
      this.setData({ jobs: jobs.map(row), loading: false })
      for (const j of jobs) void this.thumb(j)
      const moving = jobs.some((j) => MOVING.includes(j.state))
      if (moving) pollOf(this, () => this.load()).start()
      return moving
    },
    async thumb(j: Job) {
      if (!PROCESSED.includes(j.state) || !j.files_available) return
      if (!thumbs[j.id]) {
        const path = await image(`/api/v1/jobs/${j.id}/thumbnail`)
        if (path) thumbs[j.id] = path
      }
      if (thumbs[j.id] && this.data.thumbs[j.id] !== thumbs[j.id]) {
        this.setData({ thumbs: { ...this.data.thumbs, [j.id]: thumbs[j.id] } })
      }
    },
    async fromChat() {
      try {
        const r = await wx.chooseMessageFile({ count: 9, type: 'file', extension: EXTENSIONS })
        await this.send(r.tempFiles.map((f) => ({ path: f.path, name: f.name })))
      } catch {
        // Cancelled.
      }
    },
    async fromPhotos() {
      try {
        const r = await wx.chooseMedia({ count: 9, mediaType: ['image'], sourceType: ['album', 'camera'] })
        await this.send(r.tempFiles.map((f) => ({ path: f.tempFilePath, name: f.tempFilePath.split('/').pop() ?? 'photo.jpg' })))
      } catch {
        // Cancelled.
      }
    },
    async send(files: { path: string; name: string }[]) {
      for (const f of files) {
        const key = `${Date.now()}-${Math.random()}`
        this.setData({ uploads: [...this.data.uploads, { key, name: f.name, percent: 0, error: '' }] })
        // Its row by key: an earlier one may have left the list meanwhile.
        const set = (field: string, value: unknown) => {
          const i = this.data.uploads.findIndex((u) => u.key === key)
          if (i >= 0) this.setData({ [`uploads[${i}].${field}`]: value })
        }
        try {
          await upload(f.path, f.name, (percent) => set('percent', percent))
        } catch (e) {
          set('error', message(e))
          continue
        }
        this.setData({ uploads: this.data.uploads.filter((u) => u.key !== key) })
        await this.refresh()
      }
    },
    open(e: WechatMiniprogram.TouchEvent) {
      const j = this.data.jobs.find((x) => x.id === e.currentTarget.dataset.id)
      if (j?.ready) wx.navigateTo({ url: `/pages/options/options?id=${j.id}` })
    },
    async remove(e: WechatMiniprogram.TouchEvent) {
      await this.confirmThen(words().deleteConfirm, () =>
        call('delete', '/api/v1/jobs/{id}', { path: { id: e.currentTarget.dataset.id } }))
    },
    async cancelJob(e: WechatMiniprogram.TouchEvent) {
      await this.confirmThen(words().cancelConfirm, () =>
        call('post', '/api/v1/jobs/{id}/cancel', { path: { id: e.currentTarget.dataset.id } }))
    },
    async confirmThen(question: string, action: () => Promise<unknown>) {
      const { confirm } = await wx.showModal({ title: question, confirmText: words().confirm, cancelText: words().cancel })
      if (!confirm) return
      try {
        await action()
        await this.load()
      } catch (e) {
        wx.showToast({ title: message(e), icon: 'none' })
      }
    },
    /** Keeps a tap on a row's buttons from opening the row. */
    stay() {},
  },
})
