// Choosing the enterprise, for a WeChat user the server does not know yet: by its code (企业标识)
// or by searching its name. Then the WeChat sign-in again, under that enterprise: a user bound
// there is signed in, a new one goes on to register.
import { call, message, type Schemas } from '../../lib/api'
import { words } from '../../lib/i18n'
import { signInWithWechat } from '../../lib/sign_in'
import type { VantEvent } from '../common'

type Enterprise = Schemas['EnterprisePublicView']

let searchTimer: number | undefined

Component({
  data: { t: words(), code: '', query: '', found: [] as Enterprise[], searched: false, error: '', busy: false, next: '' },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      // `next`: the print point the user scanned, to go on to once signed in.
      this.setData({ next: query.next ?? '' })
    },
    onShow() {
      this.setData({ t: words() })
      wx.setNavigationBarTitle({ title: words().enterprise })
    },
    onCode(e: VantEvent<string>) {
      this.setData({ code: e.detail, error: '' })
    },
    onQuery(e: VantEvent<string>) {
      this.setData({ query: e.detail })
      // Search once the user pauses typing, not on every key.
      if (searchTimer !== undefined) clearTimeout(searchTimer)
      searchTimer = setTimeout(() => void this.search(), 300) as unknown as number
    },
    async search() {
      const q = this.data.query.trim()
      if (q.length < 2) return this.setData({ found: [], searched: false })
      try {
        const found = await call('get', '/api/v1/directory/enterprises', { query: { q } })
        if (q === this.data.query.trim()) this.setData({ found, searched: true })
      } catch (e) {
        this.setData({ error: message(e) })
      }
    },
    async byCode() {
      const code = this.data.code.trim()
      if (!code || this.data.busy) return
      this.setData({ busy: true, error: '' })
      try {
        const e = await call('get', '/api/v1/directory/enterprises/by-code/{code}', { path: { code } })
        await this.signIn(e)
      } catch (e) {
        this.setData({ error: message(e) })
      }
      this.setData({ busy: false })
    },
    async choose(e: WechatMiniprogram.TouchEvent) {
      const chosen = this.data.found.find((x) => x.id === e.currentTarget.dataset.id)
      if (!chosen || this.data.busy) return
      this.setData({ busy: true, error: '' })
      try {
        await this.signIn(chosen)
      } catch (err) {
        this.setData({ error: message(err) })
      }
      this.setData({ busy: false })
    },
    async signIn(e: Enterprise) {
      const outcome = await signInWithWechat({ code: e.code, name: e.name })
      const next = this.data.next
      if (outcome.kind === 'signed_in') {
        if (next) wx.redirectTo({ url: `/pages/release/release?code=${next}` })
        else wx.switchTab({ url: '/pages/documents/documents' })
      } else if (outcome.kind === 'registration_required') {
        const q = [
          `token=${encodeURIComponent(outcome.registrationToken)}`,
          `code=${encodeURIComponent(e.code)}`,
          `name=${encodeURIComponent(e.name)}`,
          ...(next ? [`next=${next}`] : []),
        ]
        wx.redirectTo({ url: `/pages/register/register?${q.join('&')}` })
      }
      // choose_enterprise cannot happen with an enterprise given: nothing to do.
    },
  },
})
