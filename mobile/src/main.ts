import { createApp } from 'vue'
import {
  Button, Cell, CellGroup, Checkbox, CheckboxGroup, Empty, Field, Form, Image as VanImage, List, Loading, NavBar,
  NoticeBar, Progress, Radio, RadioGroup, Search, Stepper, SubmitBar, Tab, Tabbar, TabbarItem, Tabs, Tag, Uploader,
} from 'vant'
import 'vant/lib/index.css'
import App from './App.vue'
import { router } from './router'

const app = createApp(App)
for (const c of [
  Button, Cell, CellGroup, Checkbox, CheckboxGroup, Empty, Field, Form, VanImage, List, Loading, NavBar, NoticeBar,
  Progress, Radio, RadioGroup, Search, Stepper, SubmitBar, Tab, Tabbar, TabbarItem, Tabs, Tag, Uploader,
]) {
  app.use(c)
}
app.use(router).mount('#app')

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register('/m/sw.js', { scope: '/m/' }).catch(() => undefined)
}
