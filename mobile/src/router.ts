import { createRouter, createWebHistory } from 'vue-router'
import { session, signedIn } from './session'

export const router = createRouter({
  history: createWebHistory('/m/'),
  routes: [
    { path: '/', redirect: '/jobs' },
    { path: '/enterprise', component: () => import('./pages/EnterprisePage.vue') },
    { path: '/signin', component: () => import('./pages/SignInPage.vue') },
    { path: '/jobs', component: () => import('./pages/JobsPage.vue'), meta: { auth: true } },
    { path: '/jobs/:id', component: () => import('./pages/JobOptionsPage.vue'), meta: { auth: true } },
    { path: '/release', component: () => import('./pages/ScanPage.vue'), meta: { auth: true } },
    // The QR link /p/{code} lands here (through the server's redirect).
    { path: '/release/:code', component: () => import('./pages/ReleasePage.vue'), meta: { auth: true } },
    // A scan session opened from the release page (`?code=` the print point's, to keep scanning).
    { path: '/scan/:id', component: () => import('./pages/ScanSessionPage.vue'), meta: { auth: true } },
    { path: '/scans', component: () => import('./pages/ScanRecordsPage.vue'), meta: { auth: true } },
    // Printing from a PC or Mac: the enterprise's IPP printer and the user's printing tokens.
    { path: '/computers', component: () => import('./pages/ComputerPrintingPage.vue'), meta: { auth: true } },
    { path: '/wallet', component: () => import('./pages/WalletPage.vue'), meta: { auth: true } },
  ],
})

// The admin console (移动管理平台, /m/admin/) is added on its first visit: its routes, and the
// map of its chunks that a lazy route leaves in the chunk declaring it, stay out of the entry
// the user pages load.
let consoleAdded = false
router.beforeEach(async (to) => {
  if (consoleAdded || !to.path.startsWith('/admin')) return true
  const { addConsole } = await import('./admin/routes')
  addConsole(router)
  consoleAdded = true
  return to.fullPath
})

// Never lose the user's place: signing in comes back to where they were going.
router.beforeEach((to) => {
  if (!to.meta.auth || signedIn()) return true
  const next = to.fullPath
  return session.enterpriseCode ? { path: '/signin', query: { next } } : { path: '/enterprise', query: { next } }
})
