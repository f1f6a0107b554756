// Words and small helpers the operations pages share (print points, gateways, jobs, alerts):
// state names, the region tree for selects, route-query filters, days as epoch ms, yuan ↔ fen.
import type { LocationQuery } from 'vue-router'
import type { Schemas } from '../api'
import { words } from '../i18n'

export const opsWords = words(
  {
    statuses: { online: '在线', offline: '离线', error: '故障' } as Record<string, string>,
    jobStates: {
      uploaded: '已上传', processing: '处理中', ready: '待打印', released: '已发送', printing: '打印中',
      completed: '已完成', failed: '失败', cancelled: '已取消', expired: '已过期',
    } as Record<string, string>,
    actors: { user: '用户', admin: '管理员', gateway: '网关', system: '系统' } as Record<string, string>,
    alertStates: { open: '未解决', raised: '待处理', acknowledged: '已确认', resolved: '已解决' } as Record<string, string>,
    levels: { 1: '一级', 2: '二级', 3: '三级' } as Record<string, string>,
    region: '区域', group: '打印机组', status: '状态', all: '全部', noRegion: '（无区域）', on: '开', off: '关',
    back: '返回', copy: '复制', copied: '已复制', copyFailed: '复制失败，请手动选择文字复制',
  },
  {
    statuses: { online: 'Online', offline: 'Offline', error: 'Error' },
    jobStates: {
      uploaded: 'Uploaded', processing: 'Processing', ready: 'Ready', released: 'Released', printing: 'Printing',
      completed: 'Completed', failed: 'Failed', cancelled: 'Cancelled', expired: 'Expired',
    },
    actors: { user: 'User', admin: 'Admin', gateway: 'Gateway', system: 'System' },
    alertStates: { open: 'Open', raised: 'Raised', acknowledged: 'Acknowledged', resolved: 'Resolved' },
    levels: { 1: 'Level 1', 2: 'Level 2', 3: 'Level 3' },
    region: 'Region', group: 'Printer group', status: 'Status', all: 'All', noRegion: '(no region)', on: 'On', off: 'Off',
    back: 'Back', copy: 'Copy', copied: 'Copied', copyFailed: 'Could not copy: select the text and copy it by hand',
  },
)

/** A label for a code in one of the maps above, or the code itself when it is new. */
export function label(map: Record<string, string>, code: string | number | null | undefined): string {
  return code === null || code === undefined || code === '' ? '—' : (map[String(code)] ?? String(code))
}

/** One string value of the route query ('' when absent). */
export function queryText(query: LocationQuery, key: string): string {
  const v = query[key]
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : ''
}

/** One integer of the route query, or undefined. */
export function queryNumber(query: LocationQuery, key: string): number | undefined {
  const n = Number(queryText(query, key))
  return queryText(query, key) && Number.isSafeInteger(n) ? n : undefined
}

/** A route query without its empty values (so the address stays short and readable). */
export function cleanQuery(values: Record<string, string | number | undefined | null>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== '') out[k] = String(v)
  return out
}

/** Whether the route query holds exactly these filters (order and empty values aside). */
export function sameQuery(query: LocationQuery, filters: Record<string, string>): boolean {
  const keys = Object.keys(query).filter((k) => queryText(query, k) !== '')
  return keys.length === Object.keys(filters).length && keys.every((k) => filters[k] === queryText(query, k))
}

type Region = Schemas['RegionView']

/** Regions depth first (each followed by those inside it), with a depth for the indent in a select. */
export function regionTree(regions: Region[]): { id: string; name: string; depth: number }[] {
  const ids = new Set(regions.map((r) => r.id))
  const kids = new Map<string, Region[]>()
  for (const r of regions) {
    const key = r.parent_id && ids.has(r.parent_id) ? r.parent_id : ''
    kids.set(key, [...(kids.get(key) ?? []), r])
  }
  const out: { id: string; name: string; depth: number }[] = []
  const walk = (key: string, depth: number) => {
    for (const r of (kids.get(key) ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ id: r.id, name: r.name, depth })
      if (depth < 20) walk(r.id, depth + 1)
    }
  }
  walk('', 0)
  return out
}

/** A region's option text, indented by depth (native <option>s cannot be styled). */
export const indented = (name: string, depth: number) => `${'\u3000'.repeat(depth)}${name}`

/** `YYYY-MM-DD` (a date input's value) to epoch ms at local midnight. */
export function localMidnight(day: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() : undefined
}

/** Epoch ms to a date input's `YYYY-MM-DD` (local time). */
export function dayOf(ms: number): string {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

/** The local midnight after the day `day` (an exclusive end). */
export function nextMidnight(day: string): number | undefined {
  const start = localMidnight(day)
  if (start === undefined) return undefined
  const d = new Date(start)
  d.setDate(d.getDate() + 1)
  return d.getTime()
}

/** Yuan as typed ("1", "0.5", "0.15") to integer fen; undefined when it is not a yuan amount ≥ 0. */
export function fenOf(text: string): number | undefined {
  const t = text.trim()
  if (!/^\d+(\.\d{0,2})?$/.test(t)) return undefined
  const [whole, part = ''] = t.split('.')
  const fen = Number(whole) * 100 + Number(part.padEnd(2, '0'))
  return Number.isSafeInteger(fen) ? fen : undefined
}

/** Fen as a yuan amount to edit ("0.15"). */
export const yuanText = (fen: number) => (fen / 100).toFixed(2)
