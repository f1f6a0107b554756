// Words the organisation, admin and money pages share: roles, scopes, statuses, ledger kinds.
import { words } from '../i18n'

export type ScopeKind = 'platform' | 'provider' | 'enterprise'
export type Role = 'super' | 'region' | 'ordinary'

export const orgWords = words(
  {
    roles: { super: '超级管理员', region: '区域管理员', ordinary: '普通管理员' } as Record<string, string>,
    scopes: { platform: '平台', provider: '服务商', enterprise: '企业' } as Record<string, string>,
    statuses: { active: '正常', suspended: '已停用' } as Record<string, string>,
    ledger: {
      top_up: '充值', payment: '支付', job_payment: '打印扣费', refund: '退费', admin_adjustment: '管理员调整', gift: '赠送',
      scan_charge: '扫描扣费',
    } as Record<string, string>,
    actors: { user: '用户', admin: '管理员', system: '系统' } as Record<string, string>,
    orderStates: { pending: '待支付', paid: '已支付', closed: '已关闭' } as Record<string, string>,
    purposes: { top_up: '充值', release: '打印付款' } as Record<string, string>,
    providers: { wechat_pay: '微信支付', alipay: '支付宝' } as Record<string, string>,
    chooseEnterprise: '请先在页面顶部选择一个企业。',
    required: '请填写',
    platformDirect: '平台直属',
  },
  {
    roles: { super: 'Super admin', region: 'Region admin', ordinary: 'Ordinary admin' },
    scopes: { platform: 'Platform', provider: 'Provider', enterprise: 'Enterprise' },
    statuses: { active: 'Active', suspended: 'Suspended' },
    ledger: {
      top_up: 'Top-up', payment: 'Payment', job_payment: 'Print charge', refund: 'Refund', admin_adjustment: 'Admin adjustment',
      gift: 'Gift', scan_charge: 'Scan charge',
    },
    actors: { user: 'User', admin: 'Admin', system: 'System' },
    orderStates: { pending: 'Pending', paid: 'Paid', closed: 'Closed' },
    purposes: { top_up: 'Top-up', release: 'Print payment' },
    providers: { wechat_pay: 'WeChat Pay', alipay: 'Alipay' },
    chooseEnterprise: 'Choose an enterprise at the top of the page first.',
    required: 'Required',
    platformDirect: 'Directly under the platform',
  },
)

/** A label for a code in one of the maps above, or the code itself when it is new. */
export function label(map: Record<string, string>, code: string | null | undefined): string {
  return code ? (map[code] ?? code) : '—'
}

/** A random idempotency key; `crypto.randomUUID` exists only on HTTPS and localhost. */
export function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  const b = crypto.getRandomValues(new Uint8Array(16))
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
}
