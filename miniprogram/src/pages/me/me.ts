// Who is signed in, where, in which language; the way to the scan records; and signing out (the
// server forgets the session).
import { call, message } from '../../lib/api'
import { lang, setLang, words } from '../../lib/i18n'
import { hasModule, loadModules } from '../../lib/modules'
import { session, signOut } from '../../lib/session'
import { refreshTabBar, requireSignIn } from '../common'

Component({
  data: { t: words(), name: '', login: '', enterprise: '', error: '', scanModule: true },
  methods: {
    onShow() {
      this.setData({ t: words(), enterprise: session().enterpriseName ?? '' })
      refreshTabBar()
      if (requireSignIn()) void this.load()
    },
    async load() {
      try {
        const me = await call('get', '/api/v1/me')
        await loadModules()
        this.setData({
          name: me.display_name, login: me.username ?? me.phone ?? '', error: '', scanModule: hasModule('scan_to_cloud'),
        })
      } catch (e) {
        if (requireSignIn()) this.setData({ error: message(e) })
      }
    },
    /** The user's scan records (扫描记录). */
    scans() {
      wx.navigateTo({ url: '/pages/scans/scans' })
    },
    toggleLang() {
      setLang(lang() === 'en' ? 'zh-CN' : 'en')
      // Other pages take the new words in their onShow.
      this.setData({ t: words() })
      refreshTabBar()
    },
    async signOut() {
      const { confirm } = await wx.showModal({ title: words().signOutConfirm, confirmText: words().confirm, cancelText: words().cancel })
      if (!confirm) return
      const refreshToken = session().refreshToken
      try {
        if (refreshToken) await call('post', '/api/v1/sessions/sign-out', { body: { refresh_token: refreshToken } })
      } catch {
        // Already gone at the server: forgetting it here is all that is left.
      }
      signOut()
      wx.reLaunch({ url: '/pages/index/index' })
    },
  },
})
