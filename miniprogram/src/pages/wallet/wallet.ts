// The wallet: balance, statement, and topping up with WeChat Pay (a fixed amount or another).
import { call, message, type Schemas } from '../../lib/api'
import { words, yuan } from '../../lib/i18n'
import { payWithWechat, refreshTabBar, requireSignIn, when, type VantEvent } from '../common'

/** Top-up amounts offered, yuan. */
const AMOUNTS = [10, 20, 50, 100]
const MAX_YUAN = 50000

function entryOf(e: Schemas['LedgerEntry']) {
  const t = words()
  return {
    id: e.id,
    kind: e.kind,
    title: t.kinds[e.kind] ?? e.kind,
    time: when(e.created_at),
    amount: `${e.amount_fen > 0 ? '+' : ''}${yuan(e.amount_fen)}`,
  }
}

Component({
  data: { t: words(), balance: '', entries: [] as ReturnType<typeof entryOf>[], amounts: AMOUNTS, other: '', busy: false, error: '', loaded: false },
  methods: {
    onShow() {
      this.setData({ t: words() })
      refreshTabBar()
      if (requireSignIn()) void this.load()
    },
    async load() {
      try {
        const w = await call('get', '/api/v1/wallet', { query: { limit: 50 } })
        this.setData({ balance: yuan(w.balance_fen), entries: w.entries.map(entryOf), loaded: true })
      } catch (e) {
        if (requireSignIn()) this.setData({ error: message(e) })
      }
    },
    onOther(e: VantEvent<string>) {
      this.setData({ other: e.detail, error: '' })
    },
    topUpFixed(e: VantEvent<unknown>) {
      void this.topUp(Number(e.currentTarget.dataset.yuan))
    },
    topUpOther() {
      void this.topUp(Number(this.data.other))
    },
    async topUp(amountYuan: number) {
      if (this.data.busy) return
      const fen = Math.round(amountYuan * 100)
      if (!(fen >= 100 && fen <= MAX_YUAN * 100)) return this.setData({ error: words().amountInvalid })
      this.setData({ busy: true, error: '' })
      try {
        const started = await call('post', '/api/v1/wallet/top-ups', {
          body: { amount_fen: fen, provider: 'wechat_pay', method: 'jsapi' },
        })
        const outcome = await payWithWechat(started)
        if (outcome === 'paid') wx.showToast({ title: words().toppedUp, icon: 'success' })
        else if (outcome === 'cancelled') wx.showToast({ title: words().paymentCancelled, icon: 'none' })
        else this.setData({ error: words().paymentPending })
        this.setData({ other: '' })
        await this.load()
      } catch (e) {
        this.setData({ error: message(e) })
      }
      this.setData({ busy: false })
    },
  },
})
