// Scanning a print point's QR code (or typing its code) to print there.
import { words } from '../../lib/i18n'
import { printPointCode } from '../../lib/print_point'
import { refreshTabBar, requireSignIn, type VantEvent } from '../common'

Component({
  data: { t: words(), code: '', error: '' },
  methods: {
    onShow() {
      this.setData({ t: words(), error: '' })
      refreshTabBar()
      requireSignIn()
    },
    async scan() {
      let result: string
      try {
        result = (await wx.scanCode({ onlyFromCamera: false, scanType: ['qrCode'] })).result
      } catch {
        return // Cancelled.
      }
      this.go(result)
    },
    onCode(e: VantEvent<string>) {
      this.setData({ code: e.detail, error: '' })
    },
    submit() {
      if (this.data.code.trim()) this.go(this.data.code)
    },
    go(text: string) {
      const code = printPointCode(text)
      if (!code) return this.setData({ error: words().notOurs })
      this.setData({ error: '' })
      wx.navigateTo({ url: `/pages/release/release?code=${code}` })
    },
  },
})
