// What the user's enterprise's edition includes: the app offers only that (the server
// refuses the rest with `module_not_in_edition` anyway). Unknown until loaded: everything.
import { ref, watch } from 'vue'
import { api, type Schemas } from './api'
import { session, signedIn } from './session'

type Module = Schemas['Module']

const included = ref<Module[] | null>(null)

async function load() {
  const { data } = await api.GET('/api/v1/me/modules')
  included.value = data ? data.modules : null
}

// Read on sign-in (and again when the user signs in elsewhere or to another enterprise).
watch(
  () => (signedIn() ? session.accessToken : ''),
  (token, before) => {
    if (!token) included.value = null
    else if (!before) void load()
  },
  { immediate: true },
)

export const hasModule = (m: Module) => included.value === null || included.value.includes(m)
