// What the user's enterprise's edition includes (`GET /api/v1/me/modules`): the pages offer only
// that (the server refuses the rest with `module_not_in_edition` anyway). Read once per session
// (by its access token); unknown (not signed in, not loaded, or the call failed): everything.
import { call, type Schemas } from './api'
import { session } from './session'

type Module = Schemas['Module']

let loadedFor = ''
let included: Module[] | null = null

/** Loads the modules for the signed-in session (once per access token). */
export async function loadModules(): Promise<void> {
  const token = session().accessToken ?? ''
  if (!token || token === loadedFor) return
  try {
    included = (await call('get', '/api/v1/me/modules')).modules
    loadedFor = token
  } catch {
    included = null
  }
}

export const hasModule = (m: Module): boolean => included === null || included.includes(m)
