// WeChat's device calls as promises.
import type { Schemas } from './api'

/** A fresh `wx.login` code (each code signs in once). */
export function loginCode(): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({ success: (r) => resolve(r.code), fail: (e) => reject(new Error(e.errMsg)) })
  })
}

/** Pays with the JSAPI parameters the server signed; resolves false when the user cancels. */
export function requestPayment(p: Schemas['WechatJsapiObject']): Promise<boolean> {
  return new Promise((resolve, reject) => {
    wx.requestPayment({
      timeStamp: p.time_stamp,
      nonceStr: p.nonce_str,
      package: p.package,
      signType: p.sign_type as 'RSA',
      paySign: p.pay_sign,
      success: () => resolve(true),
      fail: (e) => (/cancel/.test(e.errMsg) ? resolve(false) : reject(new Error(e.errMsg))),
    })
  })
}
