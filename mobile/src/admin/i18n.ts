// The console's words. Each page keeps its own {zh, en} pair with `words()`, so pages stay
// independent; the words every page shares are here.
import { computed } from 'vue'
import { lang } from '../i18n'

export { lang, toggleLang, yuan } from '../i18n'

/** A page's messages in the current language (zh-CN unless English was chosen). */
export function words<T extends object>(zh: T, en: T) {
  return computed(() => (lang.value === 'en' ? en : zh))
}

export const common = words(
  {
    console: '云印管理平台', save: '保存', cancel: '取消', create: '新建', edit: '编辑', delete: '删除',
    confirm: '确定', search: '搜索', loading: '加载中…', saved: '已保存', more: '加载更多', none: '暂无数据',
    signOut: '退出登录', signOutEverywhere: '退出所有设备', back: '返回', refresh: '刷新', yes: '是', no: '否',
    status: '状态', name: '名称', actions: '操作', createdAt: '创建时间', all: '全部',
  },
  {
    console: 'Yunyin Console', save: 'Save', cancel: 'Cancel', create: 'New', edit: 'Edit', delete: 'Delete',
    confirm: 'OK', search: 'Search', loading: 'Loading…', saved: 'Saved', more: 'Load more', none: 'Nothing here',
    signOut: 'Sign out', signOutEverywhere: 'Sign out everywhere', back: 'Back', refresh: 'Refresh', yes: 'Yes', no: 'No',
    status: 'Status', name: 'Name', actions: 'Actions', createdAt: 'Created', all: 'All',
  },
)

/** Epoch milliseconds as local date and time, in the console's language. */
export function when(ms: number | null | undefined): string {
  return ms ? new Date(ms).toLocaleString(lang.value) : '—'
}
