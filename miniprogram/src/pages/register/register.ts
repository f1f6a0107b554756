// A new WeChat user's registration under the enterprise they chose: a display name (and, if
// they like, a phone with a password for the web app). Or, for someone who already has an
// account there, signing in with it once: WeChat is then bound to that account.
import { call, message, remember } from '../../lib/api'
import { words } from '../../lib/i18n'
import { session } from '../../lib/session'
import type { VantEvent } from '../common'

Component({
  data: {
    t: words(),
    token: '',
    code: '',
    name: '',
    next: '',
    /** `register` a new account, or `bind` an existing one. */
    mode: 'register',
    displayName: '',
    phone: '',
    password: '',
    login: '',
    error: '',
    busy: false,
  },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      // The landing page sends only the token: the enterprise is the one remembered.
      const remembered = session()
      this.setData({
        token: decodeURIComponent(query.token ?? ''),
        code: decodeURIComponent(query.code ?? remembered.enterpriseCode ?? ''),
        name: decodeURIComponent(query.name ?? remembered.enterpriseName ?? ''),
        next: query.next ?? '',
      })
    },
    onShow() {
      this.setData({ t: words() })
      wx.setNavigationBarTitle({ title: words().register })
    },
    onField(e: VantEvent<string>) {
      this.setData({ [e.currentTarget.dataset.field]: e.detail, error: '' })
    },
    toggle() {
      this.setData({ mode: this.data.mode === 'register' ? 'bind' : 'register', error: '', password: '' })
    },
    async register() {
      const d = this.data
      if (!d.displayName.trim()) return this.setData({ error: d.t.displayNameRequired })
      await this.open(() => call('post', '/api/v1/users', {
        body: {
          enterprise_code: d.code,
          display_name: d.displayName.trim(),
          phone: d.phone.trim() || null,
          password: d.phone.trim() ? d.password : null,
          wechat_registration_token: d.token,
        },
      }))
    },
    async bind() {
      const d = this.data
      await this.open(() => call('post', '/api/v1/sessions', {
        body: { enterprise_code: d.code, login: d.login.trim(), password: d.password, wechat_registration_token: d.token },
      }))
    },
    /** Opens the session `request` answers with and goes on. */
    async open(request: () => ReturnType<typeof call<'post', '/api/v1/sessions'>>) {
      if (this.data.busy) return
      this.setData({ busy: true, error: '' })
      try {
        remember(await request(), { code: this.data.code, name: this.data.name })
        if (this.data.next) wx.redirectTo({ url: `/pages/release/release?code=${this.data.next}` })
        else wx.switchTab({ url: '/pages/documents/documents' })
      } catch (e) {
        this.setData({ error: message(e) })
      }
      this.setData({ busy: false })
    },
  },
})
