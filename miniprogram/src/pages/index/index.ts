// The landing page: signs a returning WeChat user in at once and sends a new one to choose the
// enterprise. Opened from a print point's QR code (WeChat passes the scanned URL as `q`), it
// goes on to that print point's release page once signed in.
import { message } from '../../lib/api'
import { words } from '../../lib/i18n'
import { printPointCode } from '../../lib/print_point'
import { signedIn } from '../../lib/session'
import { signInWithWechat } from '../../lib/sign_in'

Component({
  data: { t: words(), busy: true, error: '' },
  methods: {
    onLoad(query: Record<string, string | undefined>) {
      const scanned = query.q ? printPointCode(query.q) : undefined
      this.setData({ t: words() })
      void this.start(scanned)
    },
    async start(printPoint?: string) {
      this.setData({ busy: true, error: '' })
      try {
        if (!signedIn()) {
          const outcome = await signInWithWechat()
          if (outcome.kind === 'choose_enterprise') {
            wx.redirectTo({ url: `/pages/enterprise/enterprise${printPoint ? `?next=${printPoint}` : ''}` })
            return
          }
          if (outcome.kind === 'registration_required') {
            const next = printPoint ? `&next=${printPoint}` : ''
            wx.redirectTo({ url: `/pages/register/register?token=${encodeURIComponent(outcome.registrationToken)}${next}` })
            return
          }
        }
        if (printPoint) wx.redirectTo({ url: `/pages/release/release?code=${printPoint}` })
        else wx.switchTab({ url: '/pages/documents/documents' })
      } catch (e) {
        this.setData({ busy: false, error: message(e) })
      }
    },
    retry() {
      void this.start()
    },
  },
})
