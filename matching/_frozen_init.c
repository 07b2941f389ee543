/* A C __init__ for frozen slotted dataclasses (see matching/frozen.py).
 *
 * A frozen dataclass's own __init__ stores each field through object.__setattr__, and the Python
 * fallback in frozen.py through each slot's descriptor: a call per field either way, most of the
 * cost of building an event. This one stores the arguments straight into the slots, whose offsets
 * it reads once from the class's member descriptors. It binds arguments as the dataclass __init__
 * does: positional (kw_only fields excluded), then keywords by name, then defaults and default
 * factories; and it raises the same TypeErrors.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyTypeObject *cls;      /* the dataclass: instances are checked against it */
    PyObject *names;        /* tuple of str: the fields, in __init__ order */
    PyObject *defaults;     /* tuple: each field's default, or `required` */
    PyObject *factories;    /* tuple: each field's default_factory, or None */
    PyObject *required;     /* the sentinel that marks a field without a default */
    PyObject *dict;         /* __qualname__, __doc__, __signature__, set from Python */
    Py_ssize_t *offsets;    /* where each field's slot lies in an instance */
    Py_ssize_t count;
    Py_ssize_t positional;  /* the first `positional` fields may be given by position; the rest are kw_only */
    vectorcallfunc vectorcall;
} SlotInit;

static int
bind_keyword(SlotInit *init, PyObject **values, PyObject *name, PyObject *value)
{
    Py_ssize_t i;
    for (i = 0; i < init->count; i++) {  /* interned names: identity nearly always matches */
        if (PyTuple_GET_ITEM(init->names, i) == name) {
            break;
        }
    }
    if (i == init->count) {
        for (i = 0; i < init->count; i++) {
            int equal = PyUnicode_Compare(PyTuple_GET_ITEM(init->names, i), name) == 0;
            if (equal) {
                break;
            }
            if (PyErr_Occurred()) {
                return -1;
            }
        }
    }
    if (i == init->count) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() got an unexpected keyword argument '%S'",
                     init->cls->tp_name, name);
        return -1;
    }
    if (values[i] != NULL) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() got multiple values for argument '%S'",
                     init->cls->tp_name, name);
        return -1;
    }
    values[i] = value;
    return 0;
}

static PyObject *
slot_init_call(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    SlotInit *init = (SlotInit *)callable;
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    Py_ssize_t keywords = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (given < 1) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() needs the instance", init->cls->tp_name);
        return NULL;
    }
    PyObject *self = args[0];
    if (!PyObject_TypeCheck(self, init->cls)) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() called on a %s", init->cls->tp_name, Py_TYPE(self)->tp_name);
        return NULL;
    }
    given -= 1;
    args += 1;
    if (given > init->positional) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() takes %zd positional arguments but %zd were given",
                     init->cls->tp_name, init->positional + 1, given + 1);
        return NULL;
    }
    /* values[i]: borrowed from the call or the defaults, except what a default factory made (made[i]) */
    PyObject *small[64];
    PyObject **values = small, **made = small + 32;
    if (init->count > 32) {
        values = PyMem_Calloc(2 * init->count, sizeof(PyObject *));
        if (values == NULL) {
            return PyErr_NoMemory();
        }
        made = values + init->count;
    }
    Py_ssize_t i;
    for (i = 0; i < init->count; i++) {
        values[i] = i < given ? args[i] : NULL;
        made[i] = NULL;
    }
    for (i = 0; i < keywords; i++) {
        if (bind_keyword(init, values, PyTuple_GET_ITEM(kwnames, i), args[given + i]) < 0) {
            goto fail;
        }
    }
    for (i = 0; i < init->count; i++) {
        if (values[i] == NULL) {
            PyObject *factory = PyTuple_GET_ITEM(init->factories, i);
            if (factory != Py_None) {
                values[i] = made[i] = PyObject_CallNoArgs(factory);
                if (values[i] == NULL) {
                    goto fail;
                }
                continue;
            }
            PyObject *fallback = PyTuple_GET_ITEM(init->defaults, i);
            if (fallback == init->required) {
                PyErr_Format(PyExc_TypeError, "%s.__init__() missing required argument: '%S'",
                             init->cls->tp_name, PyTuple_GET_ITEM(init->names, i));
                goto fail;
            }
            values[i] = fallback;
        }
    }
    for (i = 0; i < init->count; i++) {
        PyObject **slot = (PyObject **)((char *)self + init->offsets[i]);
        PyObject *old = *slot;
        if (made[i] == NULL) {
            Py_INCREF(values[i]);
        }
        made[i] = NULL;  /* the slot owns it now */
        *slot = values[i];
        Py_XDECREF(old);
    }
    if (values != small) {
        PyMem_Free(values);
    }
    Py_RETURN_NONE;
fail:
    for (i = 0; i < init->count; i++) {
        Py_XDECREF(made[i]);
    }
    if (values != small) {
        PyMem_Free(values);
    }
    return NULL;
}

static PyObject *
slot_init_get(PyObject *self, PyObject *instance, PyObject *owner)
{
    if (instance == NULL || instance == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, instance);
}

static int
slot_init_traverse(SlotInit *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    Py_VISIT(self->names);
    Py_VISIT(self->defaults);
    Py_VISIT(self->factories);
    Py_VISIT(self->required);
    Py_VISIT(self->dict);
    return 0;
}

static int
slot_init_clear(SlotInit *self)
{
    Py_CLEAR(self->cls);
    Py_CLEAR(self->names);
    Py_CLEAR(self->defaults);
    Py_CLEAR(self->factories);
    Py_CLEAR(self->required);
    Py_CLEAR(self->dict);
    return 0;
}

static void
slot_init_dealloc(SlotInit *self)
{
    PyObject_GC_UnTrack(self);
    slot_init_clear(self);
    PyMem_Free(self->offsets);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
slot_init_repr(SlotInit *self)
{
    return PyUnicode_FromFormat("<slot __init__ of %s>", self->cls->tp_name);
}

static PyMemberDef slot_init_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(SlotInit, vectorcall), READONLY},
    {"__dictoffset__", T_PYSSIZET, offsetof(SlotInit, dict), READONLY},
    {NULL},
};

static PyGetSetDef slot_init_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict},
    {NULL},
};

static PyType_Slot slot_init_slots[] = {
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, slot_init_get},
    {Py_tp_traverse, slot_init_traverse},
    {Py_tp_clear, slot_init_clear},
    {Py_tp_dealloc, slot_init_dealloc},
    {Py_tp_repr, slot_init_repr},
    {Py_tp_members, slot_init_members},
    {Py_tp_getset, slot_init_getset},
    {0, NULL},
};

static PyType_Spec slot_init_spec = {
    .name = "matching._frozen_init.SlotInit",
    .basicsize = sizeof(SlotInit),
    /* METHOD_DESCRIPTOR: type.__call__ passes the instance as the first argument, with no bound
       method made per call. */
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_METHOD_DESCRIPTOR | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = slot_init_slots,
};

static PyObject *
slot_initializer(PyObject *module, PyObject *args)
{
    PyTypeObject *cls;
    PyObject *names, *defaults, *factories, *required, *descriptors;
    Py_ssize_t positional;
    if (!PyArg_ParseTuple(args, "O!O!O!O!OO!n:slot_initializer", &PyType_Type, &cls, &PyTuple_Type, &names,
                          &PyTuple_Type, &defaults, &PyTuple_Type, &factories, &required, &PyTuple_Type,
                          &descriptors, &positional)) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (PyTuple_GET_SIZE(defaults) != count || PyTuple_GET_SIZE(factories) != count
            || PyTuple_GET_SIZE(descriptors) != count || positional < 0 || positional > count) {
        PyErr_SetString(PyExc_ValueError, "names, defaults, factories and descriptors must have the same length, "
                                          "and positional be at most that");
        return NULL;
    }
    Py_ssize_t *offsets = PyMem_Malloc((count ? count : 1) * sizeof(Py_ssize_t));
    if (offsets == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *descriptor = PyTuple_GET_ITEM(descriptors, i);
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "field names must be str");
            goto fail;
        }
        /* Only a slot (an object member any instance has) may be written this way. */
        if (!Py_IS_TYPE(descriptor, &PyMemberDescr_Type)
                || ((PyMemberDescrObject *)descriptor)->d_member->type != T_OBJECT_EX
                || !PyType_IsSubtype(cls, PyDescr_TYPE(descriptor))) {
            PyErr_Format(PyExc_TypeError, "%s.%S is not a slot of the class", cls->tp_name, name);
            goto fail;
        }
        offsets[i] = ((PyMemberDescrObject *)descriptor)->d_member->offset;
    }
    PyTypeObject *type = *(PyTypeObject **)PyModule_GetState(module);
    if (type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "matching._frozen_init is not initialised");
        goto fail;
    }
    SlotInit *init = PyObject_GC_New(SlotInit, type);
    if (init == NULL) {
        goto fail;
    }
    Py_INCREF(cls);
    Py_INCREF(names);
    Py_INCREF(defaults);
    Py_INCREF(factories);
    Py_INCREF(required);
    init->cls = cls;
    init->names = names;
    init->defaults = defaults;
    init->factories = factories;
    init->required = required;
    init->dict = NULL;
    init->offsets = offsets;
    init->count = count;
    init->positional = positional;
    init->vectorcall = slot_init_call;
    PyObject_GC_Track(init);
    return (PyObject *)init;
fail:
    PyMem_Free(offsets);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"slot_initializer", slot_initializer, METH_VARARGS,
     "slot_initializer(cls, names, defaults, factories, required, descriptors, positional) -> an __init__ "
     "for cls that stores its arguments straight into the slots named by `descriptors`. Fields in "
     "__init__ order; defaults[i] is `required` for a field without a default, factories[i] its "
     "default_factory or None; only the first `positional` fields may be passed by position."},
    {NULL},
};

static int
module_exec(PyObject *module)
{
    PyObject *type = PyType_FromModuleAndSpec(module, &slot_init_spec, NULL);
    if (type == NULL) {
        return -1;
    }
    *(PyTypeObject **)PyModule_GetState(module) = (PyTypeObject *)type;
    /* matching/frozen.py uses this module only at the version it was written for: an install whose
       compile failed keeps the previous build, which may take other arguments. */
    if (PyModule_AddIntConstant(module, "API_VERSION", 2) < 0) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "SlotInit", type);
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    Py_VISIT(*(PyObject **)PyModule_GetState(module));
    return 0;
}

static int
module_clear(PyObject *module)
{
    Py_CLEAR(*(PyObject **)PyModule_GetState(module));
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "matching._frozen_init",
    .m_doc = "A C __init__ for frozen slotted dataclasses (see matching/frozen.py).",
    .m_size = sizeof(PyObject *),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
};

PyMODINIT_FUNC
PyInit__frozen_init(void)
{
    return PyModuleDef_Init(&module_def);
}
