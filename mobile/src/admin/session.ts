// The signed-in admin, kept apart from the end user's session (one browser can hold both:
// a print-shop owner is often also a user of their own print points).
import { reactive } from 'vue'
import type { components } from '../../../openapi/client/schema'

export type AdminView = components['schemas']['AdminView']

export interface AdminSession {
  admin: AdminView
  accessToken: string
  refreshToken: string
  accessExpiresAt: number
}

const KEY = 'yunyin.admin'

function load(): Partial<AdminSession> {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<AdminSession>
  } catch {
    return {}
  }
}

export const adminSession = reactive<Partial<AdminSession>>(load())

export function saveAdmin(patch: Partial<AdminSession>) {
  Object.assign(adminSession, patch)
  localStorage.setItem(KEY, JSON.stringify(adminSession))
}

export function forgetAdmin() {
  for (const k of Object.keys(adminSession)) delete (adminSession as Record<string, unknown>)[k]
  localStorage.removeItem(KEY)
}

export const adminSignedIn = () => Boolean(adminSession.accessToken)

/** Platform admins see everything; a provider's or enterprise's admins see their subtree. */
export const isPlatform = () => adminSession.admin?.scope_kind === 'platform'
export const isSuper = () => adminSession.admin?.role === 'super'
export type Permission = components['schemas']['Permission']
/** Whether the admin may use a part of the console (super admins hold every permission). */
export const holds = (p: Permission) => isSuper() || (adminSession.admin?.permissions ?? []).includes(p)
/** The enterprise an enterprise-level admin belongs to (their home in the console). */
export const homeEnterprise = () =>
  adminSession.admin?.scope_kind === 'enterprise' ? adminSession.admin.scope_id : undefined
