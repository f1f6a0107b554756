// Inside WeChat's browser: sign-in through the official account, and the JS-SDK (`wx`) for
// scanning QR codes. The JS-SDK configuration is signed by our server.
import { api } from './api'
import { session } from './session'

export const inWechat = () => /MicroMessenger/i.test(navigator.userAgent)

interface Wx {
  config(c: object): void
  ready(f: () => void): void
  error(f: (e: unknown) => void): void
  scanQRCode(o: { needResult: 1; scanType: string[]; success: (r: { resultStr: string }) => void; fail?: (e: unknown) => void }): void
}

/** Sends the browser to WeChat's authorisation page; WeChat returns to `back` with `?code=`. */
export async function startWechatSignIn(back: string): Promise<string | undefined> {
  const { data, error } = await api.GET('/api/v1/wechat/oauth-url', {
    params: { query: { enterprise_code: session.enterpriseCode ?? '', redirect_uri: back } },
  })
  if (data) location.href = data.url
  return error ? (error as { message?: string }).message : undefined
}

let ready: Promise<Wx> | undefined

/** The configured JS-SDK, loaded once per page. */
export function wx(): Promise<Wx> {
  ready ??= new Promise<Wx>((resolve, reject) => {
    const script = document.createElement('script')
    script.src = 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js'
    script.onload = async () => {
      const w = (window as unknown as { wx?: Wx }).wx
      if (!w) return reject(new Error('no wx'))
      const { data } = await api.POST('/api/v1/wechat/js-sdk-config', {
        body: { enterprise_code: session.enterpriseCode ?? '', url: location.href.split('#')[0] },
      })
      if (!data) return reject(new Error('no JS-SDK configuration'))
      w.config({
        debug: false,
        appId: data.app_id,
        timestamp: data.timestamp,
        nonceStr: data.nonce_str,
        signature: data.signature,
        jsApiList: ['scanQRCode', 'chooseWXPay'],
      })
      w.ready(() => resolve(w))
      w.error(reject)
    }
    script.onerror = () => reject(new Error('JS-SDK not loaded'))
    document.head.appendChild(script)
  })
  return ready
}

/** What WeChat's scanner read. */
export async function wechatScan(): Promise<string> {
  const w = await wx()
  return new Promise((resolve, reject) =>
    w.scanQRCode({ needResult: 1, scanType: ['qrCode'], success: (r) => resolve(r.resultStr), fail: reject }),
  )
}
