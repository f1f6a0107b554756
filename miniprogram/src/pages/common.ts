// What several pages share: polling while a page is shown, paying with WeChat Pay, asking for
// subscription messages, the tab bar's words and the sign-in guard.
import { call, type Schemas } from '../lib/api'
import { words } from '../lib/i18n'
import { signedIn } from '../lib/session'
import { requestPayment } from '../lib/wechat'

/** Runs `tick` every `every` ms while it answers true, until stopped (onHide / detached). */
export class Poll {
  private timer: number | undefined
  /** Bumped by stop(), so a tick still in flight does not schedule another. */
  private generation = 0
  private running = false

  constructor(private readonly tick: () => Promise<boolean>, private readonly every = 2000) {}

  start(): void {
    if (this.running) return
    this.running = true
    this.schedule(this.generation)
  }

  stop(): void {
    this.generation += 1
    this.running = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule(generation: number): void {
    this.timer = setTimeout(() => void this.run(generation), this.every) as unknown as number
  }

  private async run(generation: number): Promise<void> {
    this.timer = undefined
    let again = true
    try {
      again = await this.tick()
    } catch {
      // A network hiccup: try again at the next tick.
    }
    if (generation !== this.generation) return
    if (again) this.schedule(generation)
    else this.running = false
  }
}

const polls = new WeakMap<object, Poll>()

/** The page's poll (one per page instance), made on first use. */
export function pollOf(page: object, tick: () => Promise<boolean>): Poll {
  let p = polls.get(page)
  if (!p) {
    p = new Poll(tick)
    polls.set(page, p)
  }
  return p
}

/** Stops the page's poll, if it has one. */
export function stopPoll(page: object): void {
  polls.get(page)?.stop()
}

/** Job states that change by themselves (the server is working on them). */
export const MOVING = ['uploaded', 'processing', 'released', 'printing']

/** A client idempotency key for a release: 8-64 of [A-Za-z0-9_-]. */
export function releaseId(): string {
  return `mp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
}

export type PayOutcome = 'paid' | 'cancelled' | 'pending'

/**
 * Pays an order the server opened with WeChat's payment sheet, then follows the order until the
 * server has seen the payment (WeChat tells it asynchronously).
 */
export async function payWithWechat(started: Schemas['StartedPaymentObject']): Promise<PayOutcome> {
  const params = started.action.wechat_jsapi
  if (!params) throw new Error(`unexpected payment action ${started.action.kind}`)
  if (!(await requestPayment(params))) return 'cancelled'
  for (let i = 0; i < 60; i++) {
    const order = await call('get', '/api/v1/payment-orders/{id}', { path: { id: started.order.id } })
    if (order.state === 'paid') return 'paid'
    if (order.state === 'closed') return 'cancelled'
    await new Promise((r) => setTimeout(r, 1000))
  }
  return 'pending'
}

/** The subscription templates to ask for before paying (none when the enterprise set none). */
export async function subscribeTemplates(): Promise<string[]> {
  try {
    const answer = await call('get', '/api/v1/subscribe-templates')
    return answer.templates.map((t) => t.template_id)
  } catch {
    return []
  }
}

/** Asks the user to allow the messages; a refusal changes nothing. */
export async function askToSubscribe(tmplIds: string[]): Promise<void> {
  if (!tmplIds.length) return
  try {
    await wx.requestSubscribeMessage({ tmplIds })
  } catch {
    // Refused or not supported: the print goes ahead without messages.
  }
}

/** Puts the tab bar in the user's language (app.json can only hold one). */
export function refreshTabBar(): void {
  words().tabs.forEach((text, index) => wx.setTabBarItem({ index, text, fail: () => undefined }))
}

/** Sends a signed-out user to the landing page; answers whether the page may go on. */
export function requireSignIn(): boolean {
  if (signedIn()) return true
  wx.reLaunch({ url: '/pages/index/index' })
  return false
}

/** A time (epoch ms) as `2024-05-01 14:03`. */
export function when(ms: number): string {
  const d = new Date(ms)
  const two = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`
}

/** A Vant component's event (`change`, `blur`, …): its value, and the data- attributes of its tag. */
export interface VantEvent<T> {
  detail: T
  currentTarget: { dataset: Record<string, string> }
}
