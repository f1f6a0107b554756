// zh-CN by default; English when the browser (or the user) prefers it.
import { ref } from 'vue'

const zh = {
  appName: '云印',
  enterprise: '选择企业',
  enterpriseCode: '企业标识',
  search: '搜索企业名称',
  next: '下一步',
  signIn: '登录',
  wechatSignIn: '微信登录',
  wechatWelcome: '欢迎！取个昵称就可以开始打印了',
  wechatScan: '微信扫一扫',
  register: '注册',
  login: '用户名或手机号',
  username: '用户名',
  password: '密码',
  displayName: '昵称',
  jobs: '我的文档',
  upload: '上传文档',
  release: '扫码打印',
  wallet: '我的钱包',
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
  pages: '页',
  price: '价格',
  save: '保存',
  scan: '扫描打印机二维码',
  scanHint: '将二维码放入框内',
  enterCode: '或输入打印点编号',
  total: '合计',
  payWallet: '余额支付',
  payWechat: '微信支付',
  payAlipay: '支付宝',
  confirm: '确认打印',
  balance: '余额',
  topUp: '充值',
  statement: '账单',
  printing: '正在打印',
  completed: '打印完成',
  failed: '打印失败',
  refunded: '已退款',
  offline: '打印机离线，请稍后再试',
  nothing: '暂无文档',
  signOut: '退出登录',
  language: 'English',
  reasons: {
    printer_failed: '打印机未能完成打印',
  } as Record<string, string>,
  states: {
    uploaded: '已上传', processing: '处理中', ready: '待打印', released: '已发送', printing: '打印中',
    completed: '已完成', failed: '失败', cancelled: '已取消', expired: '已过期',
  } as Record<string, string>,
}

type Messages = typeof zh

const en: Messages = {
  appName: 'Yunyin',
  enterprise: 'Choose your organisation',
  enterpriseCode: 'Organisation code',
  search: 'Search by name',
  next: 'Next',
  signIn: 'Sign in',
  wechatSignIn: 'Sign in with WeChat',
  wechatWelcome: 'Welcome! Pick a display name to start printing',
  wechatScan: 'Scan with WeChat',
  register: 'Register',
  login: 'User name or phone',
  username: 'User name',
  password: 'Password',
  displayName: 'Display name',
  jobs: 'My documents',
  upload: 'Upload',
  release: 'Scan to print',
  wallet: 'Wallet',
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
  pages: 'pages',
  price: 'Price',
  save: 'Save',
  scan: "Scan the printer's QR code",
  scanHint: 'Fit the QR code in the frame',
  enterCode: 'or enter the print point code',
  total: 'Total',
  payWallet: 'Pay from wallet',
  payWechat: 'WeChat Pay',
  payAlipay: 'Alipay',
  confirm: 'Print',
  balance: 'Balance',
  topUp: 'Top up',
  statement: 'Statement',
  printing: 'Printing',
  completed: 'Printed',
  failed: 'Printing failed',
  refunded: 'Refunded',
  offline: 'The printer is offline; try again later',
  nothing: 'No documents yet',
  signOut: 'Sign out',
  language: '中文',
  reasons: {
    printer_failed: 'The printer could not finish it',
  },
  states: {
    uploaded: 'Uploaded', processing: 'Processing', ready: 'Ready', released: 'Sent', printing: 'Printing',
    completed: 'Done', failed: 'Failed', cancelled: 'Cancelled', expired: 'Expired',
  },
}

const stored = localStorage.getItem('yunyin.lang')
export const lang = ref<'zh-CN' | 'en'>(
  stored === 'en' || stored === 'zh-CN' ? stored : navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'zh-CN',
)

export function t(): Messages {
  return lang.value === 'en' ? en : zh
}

export function toggleLang() {
  lang.value = lang.value === 'en' ? 'zh-CN' : 'en'
  localStorage.setItem('yunyin.lang', lang.value)
  document.documentElement.lang = lang.value
}

/** Money in fen as yuan with two decimals. */
export function yuan(fen: number | null | undefined): string {
  return `¥${((fen ?? 0) / 100).toFixed(2)}`
}
