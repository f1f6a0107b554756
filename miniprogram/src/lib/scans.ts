// What the scan-session and scan-records pages share: how a scan record reads in a row.
import type { Schemas } from './api'
import { words, yuan } from './i18n'

export type Scan = Schemas['ScanRecordView']

/** What a scan's row shows, computed here: WXML cannot call functions. */
export function scanRow(s: Scan) {
  const t = words()
  return {
    id: s.id,
    name: s.name,
    format: s.format,
    charge: s.charge,
    unpaid: s.charge === 'unpaid',
    chargeText: t.charges[s.charge] ?? s.charge,
    tag: s.charge === 'unpaid' ? 'danger' : s.charge === 'paid' ? 'success' : 'default',
    detail: `${s.pages} ${t.pages}`,
    price: s.price_fen ? yuan(s.price_fen) : '',
    pay: `${t.pay} ${yuan(s.price_fen)}`,
  }
}

export type ScanRow = ReturnType<typeof scanRow>
