// Two habits of every console page: an action shows its progress and a clear error, and a long
// list is paged on the server.
import { ref, type Ref } from 'vue'
import { showFailToast, showSuccessToast } from './vant'
import { errorText } from './api'
import { common } from './i18n'

/** The result of an openapi-fetch call. */
interface Answer<T> {
  data?: T
  error?: unknown
}

/**
 * Runs one API call at a time: `busy` while it runs (bind it to the button's `loading`), a toast
 * with the server's message when it fails. Resolves to the data, or undefined on failure.
 */
export function useAction() {
  const busy = ref(false)
  const error = ref('')
  async function run<T>(call: () => Promise<Answer<T>>, done?: string | boolean): Promise<T | undefined> {
    busy.value = true
    error.value = ''
    try {
      const { data, error: e } = await call()
      if (e !== undefined && e !== null) {
        error.value = errorText(e)
        showFailToast(error.value)
        return undefined
      }
      if (done) showSuccessToast(typeof done === 'string' ? done : common.value.saved)
      return (data ?? (true as unknown)) as T
    } catch (e) {
      error.value = errorText(e)
      showFailToast(error.value)
      return undefined
    } finally {
      busy.value = false
    }
  }
  return { busy, error, run }
}

/**
 * A list paged on the server: `reload()` starts again (new filters), `more()` appends the next
 * page; `done` once a page came back short.
 */
export function usePaged<T>(page: (limit: number, offset: number) => Promise<Answer<T[]>>, size = 50) {
  const rows = ref([]) as Ref<T[]>
  const loading = ref(false)
  const done = ref(false)
  const error = ref('')
  // A reload (new filters) wins over whatever was loading: answers to older requests are
  // dropped, so a search typed during a load is never lost nor mixed with the old rows.
  let latest = 0
  async function fetchPage(reset: boolean) {
    if (loading.value && !reset) return
    const mine = ++latest
    loading.value = true
    error.value = ''
    try {
      const { data, error: e } = await page(size, reset ? 0 : rows.value.length)
      if (mine !== latest) return
      if (!data) {
        error.value = errorText(e)
        done.value = true
        return
      }
      rows.value = reset ? data : [...rows.value, ...data]
      done.value = data.length < size
    } finally {
      if (mine === latest) loading.value = false
    }
  }
  return { rows, loading, done, error, reload: () => fetchPage(true), more: () => fetchPage(false) }
}
