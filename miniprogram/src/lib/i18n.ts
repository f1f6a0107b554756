// zh-CN first; English when the user picks it (kept in storage) or WeChat's language is English.
// Pages put `words()` into their data as `t` and read `{{t.key}}` in WXML.

const zh = {
  appName: '云印',
  retry: '重试',
  next: '下一步',
  confirm: '确定',
  // enterprise
  enterprise: '选择企业',
  enterpriseCode: '企业标识',
  enterpriseCodeHint: '输入企业标识',
  search: '搜索企业名称',
  noMatch: '没有找到企业',
  // register
  wechatWelcome: '欢迎！取个昵称就可以开始打印了',
  displayName: '昵称',
  displayNameRequired: '请填写昵称',
  phone: '手机号',
  optional: '选填',
  passwordForPhone: '设置密码后可用手机号登录网页版',
  register: '注册',
  haveAccount: '我已有账号',
  newAccount: '注册新账号',
  bindHint: '登录后，微信将绑定到这个账号',
  login: '用户名或手机号',
  password: '密码',
  signIn: '登录',
  // documents
  jobs: '我的文档',
  fromChat: '从聊天中选择',
  photos: '从相册选择',
  nothing: '暂无文档',
  pages: '页',
  delete: '删除',
  cancel: '取消',
  deleteConfirm: '删除这份文档？',
  cancelConfirm: '取消处理这份文档？',
  // options
  options: '打印设置',
  copies: '份数',
  sides: '单双面',
  oneSided: '单面',
  twoSidedLong: '双面（长边）',
  twoSidedShort: '双面（短边）',
  colour: '色彩',
  mono: '黑白',
  colourAuto: '彩色',
  paper: '纸张',
  pageRanges: '页码范围',
  pageRangesHint: '如 1-3,5，留空打印全部',
  price: '价格',
  save: '保存',
  // scan
  scan: '扫描打印机二维码',
  scanButton: '扫一扫',
  enterCode: '或输入打印点编号',
  notOurs: '这不是云印打印点的二维码',
  // release
  total: '合计',
  balance: '余额',
  payWallet: '余额支付',
  payWechat: '微信支付',
  offline: '打印机离线，请稍后再试',
  unavailable: '这个打印点现在不能打印',
  nothingReady: '没有待打印的文档',
  printing: '正在打印',
  completed: '打印完成',
  failed: '打印失败',
  refunded: '已退款',
  paymentCancelled: '已取消支付',
  paymentPending: '支付尚未完成，请稍后在文档中查看',
  // wallet
  wallet: '我的钱包',
  topUp: '充值',
  otherAmount: '其他金额（元）',
  amountInvalid: '请输入 1 到 50000 元的金额',
  toppedUp: '充值成功',
  statement: '账单',
  noEntries: '暂无账单',
  kinds: {
    top_up: '充值', payment: '支付', job_payment: '打印扣费', refund: '退款', admin_adjustment: '余额调整', gift: '赠送', scan_charge: '扫描扣费',
  } as Record<string, string>,
  // me
  me: '我的',
  enterpriseName: '企业',
  language: '语言',
  otherLanguage: 'English',
  signOut: '退出登录',
  signOutConfirm: '确定退出登录？',
  // tab bar, in app.json's order
  tabs: ['文档', '扫码打印', '钱包', '我的'],
  reasons: {
    printer_failed: '打印机未能完成打印',
  } as Record<string, string>,
  // Add each page's words here, with the same key in `en` (the type makes sure of it).
  states: {
    uploaded: '已上传', processing: '处理中', ready: '待打印', released: '已发送', printing: '打印中',
    completed: '已完成', failed: '失败', cancelled: '已取消', expired: '已过期',
  } as Record<string, string>,
}

export type Words = typeof zh

const en: Words = {
  appName: 'Yunyin',
  retry: 'Try again',
  next: 'Next',
  confirm: 'OK',
  enterprise: 'Choose your organisation',
  enterpriseCode: 'Organisation code',
  enterpriseCodeHint: 'Enter the organisation code',
  search: 'Search by name',
  noMatch: 'No organisation found',
  wechatWelcome: 'Welcome! Pick a display name to start printing',
  displayName: 'Display name',
  displayNameRequired: 'Please enter a display name',
  phone: 'Phone',
  optional: 'Optional',
  passwordForPhone: 'With a password you can also sign in on the web with your phone',
  register: 'Register',
  haveAccount: 'I already have an account',
  newAccount: 'Register a new account',
  bindHint: 'Signing in links WeChat to this account',
  login: 'User name or phone',
  password: 'Password',
  signIn: 'Sign in',
  jobs: 'My documents',
  fromChat: 'From a chat',
  photos: 'Photos',
  nothing: 'No documents yet',
  pages: 'pages',
  delete: 'Delete',
  cancel: 'Cancel',
  deleteConfirm: 'Delete this document?',
  cancelConfirm: 'Stop processing this document?',
  options: 'Print options',
  copies: 'Copies',
  sides: 'Sides',
  oneSided: 'One-sided',
  twoSidedLong: 'Two-sided (long edge)',
  twoSidedShort: 'Two-sided (short edge)',
  colour: 'Colour',
  mono: 'Black & white',
  colourAuto: 'Colour',
  paper: 'Paper',
  pageRanges: 'Pages',
  pageRangesHint: 'e.g. 1-3,5; empty for all',
  price: 'Price',
  save: 'Save',
  scan: "Scan the printer's QR code",
  scanButton: 'Scan',
  enterCode: 'or enter the print point code',
  notOurs: 'This QR code is not a Yunyin print point',
  total: 'Total',
  balance: 'Balance',
  payWallet: 'Pay from wallet',
  payWechat: 'WeChat Pay',
  offline: 'The printer is offline; try again later',
  unavailable: 'This print point cannot print right now',
  nothingReady: 'No documents ready to print',
  printing: 'Printing',
  completed: 'Printed',
  failed: 'Printing failed',
  refunded: 'Refunded',
  paymentCancelled: 'Payment cancelled',
  paymentPending: 'The payment is not through yet; check your documents in a moment',
  wallet: 'Wallet',
  topUp: 'Top up',
  otherAmount: 'Other amount (yuan)',
  amountInvalid: 'Enter an amount from 1 to 50000 yuan',
  toppedUp: 'Topped up',
  statement: 'Statement',
  noEntries: 'No entries yet',
  kinds: {
    top_up: 'Top-up', payment: 'Payment', job_payment: 'Printing', refund: 'Refund', admin_adjustment: 'Adjustment', gift: 'Gift', scan_charge: 'Scan charge',
  },
  me: 'Me',
  enterpriseName: 'Organisation',
  language: 'Language',
  otherLanguage: '中文',
  signOut: 'Sign out',
  signOutConfirm: 'Sign out now?',
  tabs: ['Documents', 'Scan to print', 'Wallet', 'Me'],
  reasons: {
    printer_failed: 'The printer could not finish it',
  },
  states: {
    uploaded: 'Uploaded', processing: 'Processing', ready: 'Ready', released: 'Sent', printing: 'Printing',
    completed: 'Done', failed: 'Failed', cancelled: 'Cancelled', expired: 'Expired',
  },
}

export type Lang = 'zh-CN' | 'en'
const KEY = 'yunyin.lang'

export function lang(): Lang {
  const stored = wx.getStorageSync(KEY) as string
  if (stored === 'en' || stored === 'zh-CN') return stored
  const wechat = wx.getAppBaseInfo ? wx.getAppBaseInfo().language : ''
  return wechat && wechat.toLowerCase().startsWith('en') ? 'en' : 'zh-CN'
}

export function setLang(l: Lang): void {
  wx.setStorageSync(KEY, l)
}

export function words(): Words {
  return lang() === 'en' ? en : zh
}

/** Money in fen as yuan with two decimals. */
export function yuan(fen: number | null | undefined): string {
  return `¥${((fen ?? 0) / 100).toFixed(2)}`
}
