// Paging over the API's cursor lists (`limit` + `next_cursor`): page N is reached by the
// cursor that page N-1 returned, so the cursors seen so far are kept to go back.

import { computed, ref, shallowRef } from 'vue'
import { http, type Page, type Query } from '@/api/http'

export function useCursorPager<T>(path: string, query: () => Query = () => ({}), size = 20) {
  const items = shallowRef<T[]>([])
  const loading = ref(false)
  const pageSize = ref(size)
  /** cursors[i] opens page i+1 (cursors[0] is undefined: the first page). */
  const cursors = ref<Array<string | undefined>>([undefined])
  const index = ref(0)
  const next = ref<string | undefined>()
  const error = ref('')

  async function load() {
    loading.value = true
    try {
      const page = await http.get<Page<T>>(path, {
        query: { ...query(), limit: pageSize.value, cursor: cursors.value[index.value] },
      })
      items.value = page.items
      next.value = page.next_cursor ?? undefined
      error.value = ''
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e)
    } finally {
      loading.value = false
    }
  }

  /** Back to the first page (after a filter change or a write). */
  function reload() {
    cursors.value = [undefined]
    index.value = 0
    return load()
  }
  function nextPage() {
    if (!next.value) return
    cursors.value = [...cursors.value.slice(0, index.value + 1), next.value]
    index.value++
    return load()
  }
  function prevPage() {
    if (index.value === 0) return
    index.value--
    return load()
  }
  function setSize(n: number) {
    pageSize.value = n
    return reload()
  }

  return {
    items,
    loading,
    error,
    pageSize,
    page: computed(() => index.value + 1),
    hasNext: computed(() => !!next.value),
    hasPrev: computed(() => index.value > 0),
    load,
    reload,
    nextPage,
    prevPage,
    setSize,
  }
}
