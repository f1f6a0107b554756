// The enterprise the console is looking at. Enterprise-level admins always look at their own;
// platform and provider admins choose one (remembered on this device).
import { reactive, ref } from 'vue'
import { adminSession, homeEnterprise } from './session'

const KEY = 'yunyin.admin.enterprise'

export const currentEnterprise = reactive<{ id?: string; name?: string }>(
  JSON.parse(localStorage.getItem(KEY) ?? '{}') as { id?: string; name?: string },
)

export function chooseEnterprise(id: string, name: string) {
  Object.assign(currentEnterprise, { id, name })
  localStorage.setItem(KEY, JSON.stringify(currentEnterprise))
}

/** The enterprise id pages should use: the admin's own, or the chosen one. */
export function enterpriseId(): string | undefined {
  return homeEnterprise() ?? (adminSession.admin ? currentEnterprise.id : undefined)
}

/** Bumped when an enterprise is created or renamed, so the picker reloads its list. */
export const enterprisesChanged = ref(0)
